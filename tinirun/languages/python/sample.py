def run(input: str) -> str:
    name = input.strip() or "world"
    return f"Hello, {name}!"
