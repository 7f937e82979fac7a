-- Resumes: every request resumes the next waiting Kibana execution of a list (a POST with a body).
--
-- Usage: wrk -t2 ... -H 'kbn-xsrf: true' -s resume.lua http://127.0.0.1:PORT -- PATHS_FILE [START]
-- PATHS_FILE holds one resume path per line; as in cold.lua, thread n starts START + n/2 of the
-- way into the list, so the two threads never resume the same execution and consecutive runs go
-- on where the last one stopped.

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
    error("resume.lua: no paths in " .. args[1])
  end
  local start = tonumber(args[2] or "0") or 0
  cursor = (start + math.floor((thread_no or 0) * #paths / 2)) % #paths
  -- wrk.format(method, path, headers, body) would replace the -H headers by its own table:
  -- set method, body and the extra header once, here, beside the -H ones.
  wrk.method = "POST"
  wrk.body = '{"input": {"approved": true, "comment": "benchmark"}}'
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  cursor = cursor % #paths + 1
  return wrk.format(nil, paths[cursor])
end
