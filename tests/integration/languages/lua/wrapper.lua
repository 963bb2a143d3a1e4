-- Calls the user's run(input) with all of standard input and prints what it returns.
dofile("/app/function.lua")
local ok, result = pcall(run, io.read("a"))
if not ok then
  io.stderr:write(tostring(result), "\n")
  os.exit(1)
end
io.write(result == nil and "" or tostring(result))
