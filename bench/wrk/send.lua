-- wrk script: POST /api/messages/send as the bench user ($BENCH_TOKEN) to $RECIPIENT_ID.
wrk.method = "POST"
wrk.path = "/api/messages/send"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"recipient_id": ' .. os.getenv("RECIPIENT_ID") .. ', "body": "wrk: see you at the meeting tomorrow"}'

