-- mod_telework_rooms: the staff list's rooms (telework platform, role chat_server), on the MUC
-- component. Installed by Ansible; local changes are overwritten.
--
-- At start and whenever the staff list changes (Ansible writes telework_staff_file and reloads
-- Prosody), every room of the list exists, persistent and members-only, with exactly the list's
-- members: a member who left the department or the list loses the membership and, the room being
-- members-only, is removed from it at once. Rooms and members are logged (TW-09).
-- Works on Prosody 0.12 and 13.

local json = require "util.json";
local mod_muc = module:depends("muc");

local staff_file = module:get_option_path("telework_staff_file", nil, "config");

local function read_rooms()
	local f, err = io.open(staff_file or "", "r");
	if not f then
		module:log("error", "event=rooms result=failure reason=%q", tostring(err));
		return nil;
	end
	local data = json.decode(f:read("*a"));
	f:close();
	if type(data) ~= "table" or type(data.rooms) ~= "table" then
		module:log("error", "event=rooms result=failure reason=unreadable file=%s", staff_file);
		return nil;
	end
	return data.rooms;
end

local function sync_room(spec)
	local room = mod_muc.get_room_from_jid(spec.jid);
	local created = false;
	if not room then
		room = mod_muc.create_room(spec.jid);
		created = true;
	end
	if not room then
		module:log("error", "event=room result=failure room=%s reason=not-created", spec.jid);
		return;
	end
	room:set_name(spec.title);
	room:set_persistent(true);
	room:set_members_only(true);
	room:set_allow_member_invites(false);
	room:set_public(true);  -- listed, so staff find their rooms; only members may enter
	room:set_changesubject(false);
	local want = {};
	for _, jid in ipairs(spec.members) do want[jid] = true; end
	local removed, added = 0, 0;
	local current = {};
	for jid, affiliation in room:each_affiliation() do
		current[jid] = affiliation;
	end
	for jid, affiliation in pairs(current) do
		if affiliation == "member" and not want[jid] then
			room:set_affiliation(true, jid, "none", "No longer a member on the staff list");
			removed = removed + 1;
		end
	end
	for jid in pairs(want) do
		if current[jid] ~= "member" and current[jid] ~= "owner" and current[jid] ~= "admin" then
			room:set_affiliation(true, jid, "member", "A member on the staff list");
			added = added + 1;
		end
	end
	room:save(true);
	module:log("info", "event=room room=%s created=%s members=%d added=%d removed=%d", spec.jid,
		tostring(created), #spec.members, added, removed);
end

local function sync()
	local rooms = read_rooms();
	if not rooms then return; end
	for _, spec in ipairs(rooms) do sync_room(spec); end
end

module:hook_global("config-reloaded", sync);

-- Rooms are restored from storage once the server runs; sync after that.
module:hook_global("server-started", sync);
function module.load()
	if prosody.start_time then sync(); end
end
