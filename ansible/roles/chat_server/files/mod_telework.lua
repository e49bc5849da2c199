-- mod_telework: the staff list's part of the chat server (telework platform, role chat_server).
-- Installed by Ansible; local changes are overwritten.
--
-- * Only the active staff of the staff list may log in (PAM checks the password; this is the
--   list's own word, a second lock).
-- * When the list changes (Ansible writes telework_staff_file and reloads Prosody), every open
--   session of a user no longer active is ended at once, and the roster groups are reloaded.
-- * Every login, failed login (with the name tried) and logout is logged with user and source
--   address, one line each (TW-09), for the log server.
-- Works on Prosody 0.12 and 13.

local json = require "util.json";
local base64 = require "util.encodings".base64;
local modulemanager = require "core.modulemanager";

local staff_file = module:get_option_path("telework_staff_file", nil, "config");
local host = module.host;
local active = {};

local function clean(s)
	-- What may be written to a log line from a client's input: a login name's characters only.
	return (tostring(s or "-"):gsub("[^%w%.%-_@]", "?"):sub(1, 64));
end

local function read_staff()
	local f, err = io.open(staff_file or "", "r");
	if not f then
		module:log("error", "event=staff result=failure reason=%q", tostring(err));
		return nil;
	end
	local data = json.decode(f:read("*a"));
	f:close();
	if type(data) ~= "table" or type(data.active) ~= "table" then
		module:log("error", "event=staff result=failure reason=unreadable file=%s", staff_file);
		return nil;
	end
	local set = {};
	for _, id in ipairs(data.active) do set[id] = true; end
	return set;
end

local function end_revoked_sessions()
	local host_session = prosody.hosts[host];
	local ended = 0;
	for username, user in pairs(host_session and host_session.sessions or {}) do
		if not active[username] then
			for _, session in pairs(user.sessions or {}) do
				module:log("info", "event=logout user=%s src=%s reason=revoked", clean(username), clean(session.ip));
				session:close({ condition = "not-authorized", text = "Access revoked" });
				ended = ended + 1;
			end
		end
	end
	return ended;
end

local function load_staff(reload_groups)
	local set = read_staff();
	if not set then return; end
	active = set;
	local n = 0;
	for _ in pairs(active) do n = n + 1; end
	local ended = end_revoked_sessions();
	module:log("info", "event=staff result=success active=%d ended=%d", n, ended);
	if reload_groups and modulemanager.is_loaded(host, "groups") then
		modulemanager.reload(host, "groups");
	end
end

-- The name a PLAIN login tries (authzid NUL authcid NUL password): kept for the failure line only.
module:hook("stanza/urn:ietf:params:xml:ns:xmpp-sasl:auth", function(event)
	local session, stanza = event.origin, event.stanza;
	local text = stanza:get_text();
	local decoded = text and text ~= "" and text ~= "=" and base64.decode(text);
	session.telework_tried = decoded and decoded:match("^[^%z]*%z([^%z]*)%z") or nil;
end, 10);

module:hook("authentication-success", function(event)
	local session = event.session;
	if not active[session.username] then
		module:log("info", "event=login result=failure user=%s src=%s reason=not-in-staff-list",
			clean(session.username), clean(session.ip));
		session:close({ condition = "not-authorized", text = "Not on the staff list" });
		return;
	end
	session.telework_logged_in = true;
	module:log("info", "event=login result=success user=%s src=%s", clean(session.username), clean(session.ip));
end);

module:hook("authentication-failure", function(event)
	local session = event.session;
	module:log("info", "event=login result=failure user=%s src=%s reason=%s",
		clean(session.telework_tried), clean(session.ip), clean(event.condition));
end);

module:hook("resource-unbind", function(event)
	local session = event.session;
	if session.telework_logged_in then
		local reason = event.error and (event.error.condition or event.error.text or tostring(event.error)) or "closed";
		module:log("info", "event=logout user=%s src=%s reason=%s", clean(session.username), clean(session.ip),
			clean(reason));
	end
end);

module:hook_global("config-reloaded", function() load_staff(true); end);

function module.load()
	load_staff(false);
end
