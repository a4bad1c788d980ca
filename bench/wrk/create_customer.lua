-- POST /api/customers with a new customer (unique email per request).
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
local n = 0
local tag = tostring(math.random(0, 1e9))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = string.format(
    '{"name":"Bench Customer %s-%d","email":"bench.%s.%d@example.com","phone":"+1 555 %07d",' ..
    '"status":"lead","source":"web","tags":["bench","trial"],"metadata":{"tier":"bronze"}}',
    tag, n, tag, n, n % 10000000)
  return wrk.format(nil, nil, nil, body)
end
