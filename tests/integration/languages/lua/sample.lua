function run(input)
  local name = input:match("^%s*(.-)%s*$")
  if name == "" then name = "world" end
  return "Hello, " .. name .. "!"
end
