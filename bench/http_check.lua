-- wrk script for scripts/loadtest-http: POST /v1/check, cycling through
-- the shared workload's requests (requests.jsonl lines are CheckRequest
-- JSON in proto field names plus "expected", which is dropped).
-- Environment: STEWARD_REQUESTS (the jsonl file), STEWARD_KEY (client key).
local key = os.getenv("STEWARD_KEY")
local bodies = {}
for line in io.lines(os.getenv("STEWARD_REQUESTS")) do
  local body = line:gsub(',"expected":"%u+"', "")
  bodies[#bodies + 1] = body
end
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. key,
}
local next_body = 0

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/v1/check", headers, bodies[next_body])
end
