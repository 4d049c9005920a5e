//! The Lua scripts of distributed mode. Each runs atomically at the broker,
//! so "is this job still mine?" and what depends on the answer (acknowledge
//! it, publish its events, renew its lease, take it over) cannot be split
//! by another worker's takeover.
//!
//! `XPENDING key group id id 1` gives the entry's owner; a job's owner is
//! the consumer (a remote worker's number) that holds it.

use std::sync::LazyLock;

use redis::Script;

/// KEYS: jobs, events. ARGV: group, consumer, entry id, worker number,
/// lines. If the entry is still this consumer's: acknowledge and delete it,
/// publish the lines (the job's `finished` or `failed` among them), and
/// return 1. Otherwise (taken over meanwhile) publish nothing and return 0:
/// the job's result is the other worker's to report.
pub(crate) static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if ARGV[5] ~= '' then redis.call('XADD', KEYS[2], '*', 'w', ARGV[4], 'lines', ARGV[5]) end
return 1
",
    )
});

/// KEYS: jobs, events. ARGV: group, consumer, entry id, worker number,
/// lines. Publishes the lines (a long job's `started`) only if the entry is
/// still this consumer's; returns 1 if it did.
pub(crate) static PUBLISH_IF_MINE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XADD', KEYS[2], '*', 'w', ARGV[4], 'lines', ARGV[5])
return 1
",
    )
});

/// KEYS: jobs. ARGV: group, consumer, entry ids. Renews the lease on the
/// entries still held here (resets their idle time); returns how many it
/// renewed (those not counted have been taken over).
pub(crate) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p > 0 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
",
    )
});

/// KEYS: jobs, events. ARGV: group, consumer, worker number, then pairs of
/// entry id and that entry's lines. The tuned flavor's end of a batch: for
/// each entry still this consumer's, acknowledge it and keep its lines (the
/// jobs' `finished` or `failed`, with their results); publish the kept
/// lines as one event; and trim the stream up to its oldest entry still
/// held by any worker (everything before it was delivered and
/// acknowledged), or up to the last entry acknowledged here if none is
/// held. Entries taken over meanwhile publish nothing: their jobs' results
/// are the other worker's. Returns how many entries it acknowledged. Sent
/// with `EVAL` inside a batch's pipeline (the broker caches it by its hash).
pub(crate) const FINISH_MANY: &str = r"
local mine, lines = {}, {}
for i = 4, #ARGV, 2 do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p > 0 and p[1][2] == ARGV[2] then
    mine[#mine + 1] = ARGV[i]
    lines[#lines + 1] = ARGV[i + 1]
  end
end
if #mine == 0 then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], unpack(mine))
local text = table.concat(lines)
if text ~= '' then redis.call('XADD', KEYS[2], '*', 'w', ARGV[3], 'lines', text) end
local held = redis.call('XPENDING', KEYS[1], ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', '~', held[2] or mine[#mine])
return #mine
";

/// KEYS: jobs. ARGV: group, consumer, lease in ms. Takes over the oldest
/// entry whose holder has not renewed it for a lease (`XAUTOCLAIM`), and
/// returns `{id, previous holder, fields}`, or nil if there is none.
pub(crate) static RECLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', 1)
if #p == 0 then return false end
local id, holder = p[1][1], p[1][2]
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], id, 'COUNT', 1)
local e = r[2][1]
if not e or e[1] ~= id then return false end
return {e[1], holder, e[2]}
",
    )
});

/// KEYS: jobs. ARGV: group, consumer, worker number, entry ids. A worker
/// stopped by a signal hands the jobs it holds back at once, not after its
/// lease: each entry still this consumer's is acknowledged, deleted and
/// added again as a new entry (the same jobs) marked `from` this worker, so
/// whoever takes it logs its jobs as reclaimed from it. Returns how many it
/// handed back (the others were taken over already).
pub(crate) static HANDBACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p > 0 and p[1][2] == ARGV[2] then
    local e = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    redis.call('XDEL', KEYS[1], ARGV[i])
    if e[1] then
      local fields = {}
      local f = e[1][2]
      for k = 1, #f, 2 do
        if f[k] ~= 'from' then
          fields[#fields + 1] = f[k]
          fields[#fields + 1] = f[k + 1]
        end
      end
      fields[#fields + 1] = 'from'
      fields[#fields + 1] = ARGV[3]
      redis.call('XADD', KEYS[1], '*', unpack(fields))
      n = n + 1
    end
  end
end
return n
",
    )
});
