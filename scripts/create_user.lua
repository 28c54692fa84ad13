-- wrk: single-user creates with UUID-shaped ids in random order, each with
-- a unique email. The bearer token comes from $TOKEN.
local token = os.getenv("TOKEN")
local counter = 0

function init(args)
  math.randomseed(os.time() * 1000 + tonumber(tostring({}):sub(8), 16) % 100000)
end

local function hex(n)
  local t = {}
  for i = 1, n do t[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(t)
end

request = function()
  counter = counter + 1
  local id = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
  local body = '{"user":{"sourcedId":"' .. id .. '","enabledUser":true,"givenName":"Given' .. counter ..
    '","familyName":"Family","email":"' .. id .. '@bench.example.org",' ..
    '"roles":[{"roleType":"primary","role":"student","org":{"sourcedId":"school-1"}}]}}'
  return wrk.format("POST", "/ims/oneroster/rostering/v1p2/users",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
