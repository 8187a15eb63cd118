-- wrk script for bench/run.py.
--
--   wrk ... -s bench/wrk.lua URL -- PATH COOKIE TOKEN [WRITE_EVERY FIRST_NEW_ID THREADS]
--
-- Every request carries the visitor's csrftoken cookie, as a returning
-- browser's would; an empty COOKIE sends none, as a new visitor would
-- (bench/peers/phase.py). With WRITE_EVERY > 0, one request in
-- WRITE_EVERY + 1 is a write: a real CSRF-protected POST with the cookie
-- and the page's token.
-- Writes alternate between adding a task and deleting one that was added,
-- so the list stays near its seeded size whatever the run's length.
-- Each write says, in X-Forwarded-For, that it comes from an address of its
-- own (a random 10.x.y.z): the load stands for many visitors, and the app
-- limits what one address may write (tasks/throttle.py).
-- done() prints one line "WRK_JSON {...}" for bench/run.py to read.

local threads_seen = {}

function setup(thread)
  thread:set("thread_index", #threads_seen)
  table.insert(threads_seen, thread)
end

function init(args)
  path = args[1]
  cookie = "csrftoken=" .. args[2]
  token = args[3]
  write_every = tonumber(args[4] or "0")
  first_new_id = tonumber(args[5] or "0")
  threads = tonumber(args[6] or "1")
  if args[2] ~= "" then
    wrk.headers["Cookie"] = cookie
  end
  read_request = wrk.format("GET", path)
  sent = 0
  writes = 0
  -- Each thread's own sequence, and another one each run.
  math.randomseed(os.time() * 1000 + first_new_id * 64 + thread_index)
end

local function post(url, body)
  local address = math.random(1, 2 ^ 24 - 2)
  local headers = {
    ["Cookie"] = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = string.format(
      "10.%d.%d.%d", math.floor(address / 65536), math.floor(address / 256) % 256, address % 256
    ),
  }
  return wrk.format("POST", url, headers, "csrfmiddlewaretoken=" .. token .. body)
end

function request()
  sent = sent + 1
  if write_every == 0 or sent % (write_every + 1) ~= 0 then
    return read_request
  end
  writes = writes + 1
  if writes % 2 == 1 then
    return post("/", "&name=Bench+write+" .. thread_index .. "-" .. writes)
  end
  -- Tasks get ids first_new_id, first_new_id + 1, ... in the order they are
  -- added. Thread t deletes ids t, t + threads, t + 2 * threads, ... of
  -- those: between them the threads delete what they all added. A delete
  -- that comes before its add is answered "already deleted" (no write).
  local target = first_new_id + (writes / 2 - 1) * threads + thread_index
  return post(string.format("/%d/delete", target), "")
end

function done(summary, latency, requests)
  -- Requests sent, not only answered: when wrk stops, the requests it has
  -- in flight are still served by the app, and bench/run.py counts the
  -- SQL and memcached operations of every request served.
  local sent = 0
  for _, thread in ipairs(threads_seen) do
    sent = sent + thread:get("sent")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "sent": %d, "duration_us": %d, "bytes": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, sent, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
