"""The one Redis script: sync an instance's lease on one key's (or project's) quota, atomically.

KEYS (one hash tag, so one Redis Cluster slot): rate hash ``<p>:r:{k:id}`` (GCRA TATs ``tr`` and
``tt`` in ms), budget hash ``<p>:b:{k:id}:<period>`` (``spent``, ``reserved``, ``a:<lease>`` the
amount a lease holds, ``s:<lease>`` the last sequence number applied) and ``<p>:x:{k:id}:<period>``
(a ZSET of lease expiries, ms).

What one call does, in order:
1. expired leases give their holds back (``reserved -= a:<lease>``): a dead instance's reservations
   expire on their own;
2. a sequence number already applied is a retry whose reply was lost: nothing changes (exactly once);
3. rates (GCRA, window 60 s, burst = the limit): take back ``credit`` units, force ``debt`` units
   (actual tokens above the estimate), then grant up to ``max(want, need)`` units that fit, where
   want tops the instance's free units up to ``min(fraction × room, cap)``;
4. budget: ``spent += delta``; the lease is set to what the instance holds (``free + hold``) plus a
   grant of ``max(want, need)`` clamped to ``limit − spent − reserved`` (never below it).
Numbers go back as strings: Redis would truncate Lua floats to integers.

ARGV: lease seq now_ms(0: Redis TIME) ttl_ms keep_s
      rpm r_credit r_debt r_free r_frac r_cap r_need
      tpm t_credit t_debt t_free t_frac t_cap t_need
      budget(-1: unlimited) spent_delta free hold u_frac u_cap u_need
Reply: dup r_grant r_room r_reset_ms t_grant t_room t_reset_ms u_grant correction spent reserved left now_ms
"""

SYNC = r"""
local A = ARGV
local W = 60000
local function num(v) return tonumber(v) or 0 end
local function f(x) return string.format('%.17g', x) end
local rk, bk, xk = KEYS[1], KEYS[2], KEYS[3]
local lease, seq = A[1], num(A[2])
local now = num(A[3])
if now <= 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ttl, keep = num(A[4]), num(A[5])

local reserved = num(redis.call('HGET', bk, 'reserved'))
local dead = redis.call('ZRANGEBYSCORE', xk, '-inf', now)
if #dead > 0 then
  for _, id in ipairs(dead) do
    reserved = reserved - num(redis.call('HGET', bk, 'a:' .. id))
    redis.call('HDEL', bk, 'a:' .. id, 's:' .. id)
  end
  redis.call('ZREMRANGEBYSCORE', xk, '-inf', now)
  if reserved < 1e-12 then reserved = 0 end
  redis.call('HSET', bk, 'reserved', f(reserved))
end
local dup = seq <= num(redis.call('HGET', bk, 's:' .. lease))

local pexp = 0
local function gcra(field, limit, credit, debt, free, frac, cap, need)
  if limit <= 0 then return {0, 0, 0} end
  local e = W / limit
  local tat = num(redis.call('HGET', rk, field))
  if tat < now then tat = now end
  local grant = 0
  if not dup then
    tat = tat - credit * e
    if tat < now then tat = now end
    tat = tat + debt * e
  end
  local room = math.floor((now + W - tat) / e + 1e-6)
  if room < 0 then room = 0 end
  if not dup then
    local have = math.max(free, 0)
    local want = math.floor(math.min(frac * (room + have), cap)) - have
    if want < need then want = need end
    if want > room then want = room end
    if want > 0 then grant = want end
    tat = tat + grant * e
    redis.call('HSET', rk, field, f(tat))
    if tat - now > pexp then pexp = tat - now end
  end
  return {grant, room - grant, tat - now}
end
local r = gcra('tr', num(A[6]), num(A[7]), num(A[8]), num(A[9]), num(A[10]), num(A[11]), num(A[12]))
local t = gcra('tt', num(A[13]), num(A[14]), num(A[15]), num(A[16]), num(A[17]), num(A[18]), num(A[19]))
if pexp > 0 then redis.call('PEXPIRE', rk, math.ceil(pexp) + ttl) end

local budget = tonumber(A[20])
local spent = num(redis.call('HGET', bk, 'spent'))
local ugrant, corr = 0, 0
if not dup then
  spent = spent + num(A[21])
  if budget >= 0 then
    local free, hold = num(A[22]), num(A[23])
    reserved = reserved - num(redis.call('HGET', bk, 'a:' .. lease))
    local base = free + hold
    if base < 0 then corr = -base; base = 0 end
    local avail = budget - spent - reserved - base
    local have = math.max(free, 0)
    local want = math.min(num(A[24]) * math.max(avail + have, 0), num(A[25])) - have
    if want < num(A[26]) then want = num(A[26]) end
    if want > avail then want = avail end
    if want > 0 then ugrant = want end
    local w = base + ugrant
    reserved = reserved + w
    if reserved < 1e-12 then reserved = 0 end
    if w > 0 then
      redis.call('HSET', bk, 'a:' .. lease, f(w))
    else
      redis.call('HDEL', bk, 'a:' .. lease)
    end
  end
  redis.call('HSET', bk, 'spent', f(spent), 'reserved', f(reserved), 's:' .. lease, seq)
  -- the lease (and its sequence number) lives until the instance stops syncing for ttl
  redis.call('ZADD', xk, now + ttl, lease)
  redis.call('EXPIRE', bk, keep)
  redis.call('EXPIRE', xk, keep)
end
local left = -1
if budget >= 0 then left = budget - spent - reserved end
return {dup and 1 or 0, f(r[1]), f(r[2]), f(r[3]), f(t[1]), f(t[2]), f(t[3]), f(ugrant), f(corr),
        f(spent), f(reserved), f(left), f(now)}
"""
