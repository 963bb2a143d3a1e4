print("Hello, world!")
for i = 1, 3 do
  os.execute("sleep 0.5")
  print("tick " .. i)
end
