-- Cold requests: every request asks for the next path of a list, so no cache can answer it.
--
-- Usage: wrk -t2 ... -s cold.lua http://127.0.0.1:PORT -- PATHS_FILE [START]
-- PATHS_FILE holds one request path (with its query string) per line. Thread n starts at
-- START + n/2 of the way into the list (wrk is run with two threads), so the threads never ask
-- for the same path at the same moment; START lets consecutive runs continue where the last
-- one stopped. No response() here: defining it makes wrk hand every body to Lua.

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("cold.lua: no paths in " .. args[1])
  end
  local start = tonumber(args[2] or "0") or 0
  cursor = (start + math.floor((thread_no or 0) * #paths / 2)) % #paths
end

function request()
  cursor = cursor % #paths + 1
  return wrk.format(nil, paths[cursor])
end
