-- wrk script: GET $BENCH_PATH as the bench user ($BENCH_TOKEN).
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
