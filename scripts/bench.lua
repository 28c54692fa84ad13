-- wrk: requests from a file of paths (one per line, $PATHS), picked at
-- random, with a share of single-user creates ($WRITE_SHARE, 0 to 1) mixed
-- in: UUID-shaped ids in random order, unique emails, in the org $ORG.
-- The bearer token comes from $TOKEN.
local token = os.getenv("TOKEN")
local paths_file = os.getenv("PATHS")
local write_share = tonumber(os.getenv("WRITE_SHARE") or "0")
local org = os.getenv("ORG") or "school-1"
local api = "/ims/oneroster/rostering/v1p2"
local paths = {}
local counter = 0

function init(args)
  math.randomseed(os.time() * 1000 + tonumber(tostring({}):sub(8), 16) % 100000)
  if paths_file then
    for line in io.lines(paths_file) do paths[#paths + 1] = line end
  end
end

local function hex(n)
  local t = {}
  for i = 1, n do t[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(t)
end

local function create()
  counter = counter + 1
  local id = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
  local body = '{"user":{"sourcedId":"' .. id .. '","enabledUser":true,"givenName":"Given' .. counter ..
    '","familyName":"Family","email":"' .. id .. '@bench.example.org",' ..
    '"roles":[{"roleType":"primary","role":"student","org":{"sourcedId":"' .. org .. '"}}]}}'
  return wrk.format("POST", api .. "/users",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

request = function()
  if #paths == 0 or math.random() < write_share then
    return create()
  end
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer " .. token})
end
