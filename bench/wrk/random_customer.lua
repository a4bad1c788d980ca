-- GET /api/customers/<id> for a random customer of the big company: seeded ids are
-- <PREFIX><index as 12 hex digits>, index 0 .. COUNT-1.
local prefix = os.getenv("PREFIX")
local count = tonumber(os.getenv("COUNT"))
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
request = function()
  return wrk.format("GET", "/api/customers/" .. prefix .. string.format("%012x", math.random(0, count - 1)))
end
