pub fn run(input: String) -> Result<String, String> {
    let name = input.trim();
    let name = if name.is_empty() { "world" } else { name };
    Ok(format!("Hello, {name}!"))
}
