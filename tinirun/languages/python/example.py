import time

print("Hello, world!")
for i in range(1, 4):
    time.sleep(0.5)
    print(f"tick {i}")
