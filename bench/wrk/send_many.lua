-- wrk script: POST /api/messages/send as the bench user ($BENCH_TOKEN), to each of $RECIPIENT_IDS
-- (comma-separated) in turn.
local recipients = {}
for id in string.gmatch(os.getenv("RECIPIENT_IDS"), "%d+") do
  recipients[#recipients + 1] = id
end
local counter = 0
wrk.method = "POST"
wrk.path = "/api/messages/send"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local recipient = recipients[counter % #recipients + 1]
  return wrk.format(nil, nil, nil, '{"recipient_id": ' .. recipient .. ', "body": "wrk: live delivery"}')
end
