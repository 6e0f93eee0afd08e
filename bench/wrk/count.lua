-- wrk script: $BENCH_REQUESTS requests in all, then stop: $BENCH_METHOD $BENCH_PATH with the body $BENCH_BODY
-- (JSON, may be empty) as the bench user ($BENCH_TOKEN), shared among the $BENCH_THREADS threads (wrk's -t).
--
-- wrk has no request count, only a duration (-d), so the counting is here: a connection sends its next
-- request only after its last answer, and delay() holds back every connection of a thread once the thread
-- has sent its share, so exactly $BENCH_REQUESTS reach the server. A thread stops once its share is
-- answered and prints "@@thread-done" on stdout: wrk itself waits for -d (give it a long one), so the
-- caller interrupts it (SIGINT) once every thread has printed it, and times the run itself.
local total = tonumber(os.getenv("BENCH_REQUESTS"))
local threads = tonumber(os.getenv("BENCH_THREADS"))
local created = 0

wrk.method = os.getenv("BENCH_METHOD")
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
if os.getenv("BENCH_BODY") ~= "" then
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = os.getenv("BENCH_BODY")
end

function setup(thread)
  -- Runs in wrk's main state, once per thread as it is made: the first total % threads take one more.
  local share = math.floor(total / threads)
  if created < total % threads then
    share = share + 1
  end
  created = created + 1
  thread:set("share", share)
end

local sent, answered = 0, 0

function delay()
  -- Called before each request of a connection; 0 sends it now. A day: never (the thread stops first).
  if sent < share then
    sent = sent + 1
    return 0
  end
  return 86400000
end

function request()
  return wrk.format()
end

function response(status, headers, body)
  answered = answered + 1
  if answered == share then
    io.write("@@thread-done\n")
    io.flush()
    wrk.thread:stop()
  end
end
