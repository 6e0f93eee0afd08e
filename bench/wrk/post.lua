-- wrk script: POST $BENCH_BODY (JSON) to $BENCH_PATH as the bench user ($BENCH_TOKEN).
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
