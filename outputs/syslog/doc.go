// Package syslog sends events to a syslog collector (rsyslog, syslog-ng,
// QRadar, ArcSight, Sentinel's AMA, LogRhythm...) over UDP, TCP or TLS
// (RFC 5426, RFC 6587, RFC 5425), as RFC 5424 or RFC 3164 messages whose MSG
// is the ECS document (JSON), CEF or LEEF.
//
// # Messages
//
// RFC 5424:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [wss@32473 hash="…" action="…" …] MSG
//
// PRI is facility*8+severity: facility authpriv (10) by default, the
// facility for security and authorization messages, which syslog daemons
// keep in a file readable by root only (Debian: /var/log/auth.log), so audit
// data passing through a relay is not spilled into world-readable logs.
// ("log audit", 13, is unknown to many receivers' facility maps.) Severity
// by default follows event.outcome: failure = warning (4), success = notice
// (5), anything else = info (6).
//
// TIMESTAMP is the event's @timestamp, UTC, milliseconds, "Z". HOSTNAME,
// APP-NAME, PROCID (auditfwd's pid) and MSGID (event.action unless msgid is
// set) are PRINTUSASCII: every other character becomes '_', each is cut to
// its RFC length (255, 48, 128, 32), an empty one is the NILVALUE "-".
//
// The structured-data element carries the key facts, for routing and for
// dropping repeats by hash: hash (event.hash), action, outcome, user
// (user.name), src_ip (source.ip), object_type (wss.audit.object_type),
// source (labels.source, the tenant); an empty fact is left out. SD-ID
// wss@32473 uses 32473, the IANA private enterprise number reserved for
// documentation (RFC 5612): a placeholder until the project has its own PEN;
// sd_id changes it. MSG is not preceded by a BOM: RFC 5424 allows MSG
// without one (MSG-ANY), and CEF and LEEF parsers expect "CEF:"/"LEEF:" at
// the very start of MSG. MSG is UTF-8 all the same.
//
// RFC 3164: <PRI>Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG, the time in UTC
// (3164 has no zone and no year; the payload has the exact time), TAG the
// app_name cut to 32 characters.
//
// # Payloads
//
// json (default): the ECS document, one line. cef: CEF:0 (ArcSight),
//
//	CEF:0|Broadcom|Web Security Service|version|event.action|message|severity|rt=… externalId=… cs3Label=eventHash cs3=… act=… outcome=… suser=… duser=… src=… cat=… cs1Label=objectType cs1=… cs2Label=objectName cs2=… cs4Label=sourceName cs4=… msg=…
//
// leef: LEEF 2.0 (QRadar), tab-separated (declared as x09 in the header),
//
//	LEEF:2.0|Broadcom|Web Security Service|version|event.action|x09|devTime=… devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ eventHash=… externalId=… cat=… sev=… action=… outcome=… usrName=… targetUsrName=… src=… objectType=… resource=… sourceName=… msg=…
//
// CEF and LEEF severity (0..10) follow the syslog severity: warning 6,
// notice 4, info 3 (table cefSeverity). src is written only when source.ip
// is an IP address.
//
// # Escaping
//
// A value can never end a field, start a field or a message, or forge a
// syslog line, because every value is escaped for where it goes and no
// message ever holds a CR, LF or NUL:
//   - header fields (5424 and 3164): PRINTUSASCII only (above).
//   - SD-PARAM values (RFC 5424 6.3.3): '"', '\' and ']' get a backslash.
//     CR and LF, which have no escape there, become U+FFFD; tab is kept.
//     Each value is cut to 256 bytes, ending in "…".
//   - CEF header fields: '\' and '|' get a backslash; tab, CR, LF become a
//     space. CEF extension values: '\' and '=' get a backslash, LF and CR are
//     written \n and \r. Name is cut to 128 bytes, Signature ID to 64.
//   - LEEF header fields: as CEF's. LEEF values: LEEF defines no escapes;
//     '\' is written \\, tab \t, LF \n, CR \r, so that a value can neither
//     split an attribute nor end the line, and the escapes stay readable.
//   - Everywhere: invalid UTF-8 and the other control characters (C0, DEL,
//     C1) become U+FFFD (NUL ends strings in C collectors, ESC drives
//     terminals). The JSON payload needs nothing: JSON already escapes them
//     (a raw control character, only possible as whitespace in a broken
//     document, becomes a space).
//
// The fuzz tests (FuzzCEF, FuzzLEEF, Fuzz5424) parse what the encoders write
// and check that every value reads back as it went in, up to these
// replacements.
//
// # Size
//
// max_message_bytes (default 8192 on tcp and tls, the size RFC 5425
// receivers should take and rsyslog's default; 2048 on udp, the size every
// RFC 5426 receiver should take, so a datagram is not cut by the receiver or
// lost to IP fragmentation) bounds a message, framing excluded: PRI,
// header, structured data and payload together. A larger message is
// truncated (oversize: truncate), the header and the framing kept whole.
// A CEF or LEEF body is cut where no rune or escape is split, after a whole
// value, and "…[truncated N bytes]" ends it; it still parses. A JSON payload
// stays a valid JSON object (jsontrunc.go): event.original is dropped first,
// then the longest strings are shortened to one common length (cut between
// runes and escapes, ending in "…"), then fields are dropped from the end of
// the document; "auditfwd":{"truncated":true,"truncated_bytes":N} says so.
// @timestamp, event.hash, event.action and event.outcome are never changed,
// and the structured data gives way to them if it must. An event whose kept
// fields alone do not fit (a huge event.action), or whose document is not a
// JSON object, is refused for good with the reason, never sent broken. With
// oversize: dead_letter every larger event is refused. A refused event goes
// to the pipeline's dead letter. All are counted (Stats).
//
// # Delivery
//
// udp: one datagram per message; an event counts as delivered once the
// kernel took its datagram. Nothing reports a datagram the network or the
// collector drops: use udp only where loss is acceptable.
//
// tcp and tls: one persistent connection, dialed by the first Write and
// again by the Write after a failure (the pipeline spaces the retries out
// with its back-off). Framing is octet counting (RFC 6587 3.4.1: "LEN MSG")
// or, with framing: lf, one message per line. write_timeout bounds the
// dial, the handshake, and each batch's write and acknowledgement. Syslog
// has no application-level acknowledgement, so on Linux Write waits until
// the collector's TCP has acknowledged every byte of the batch (SIOCOUTQ)
// with the connection still up; elsewhere it returns once the bytes are
// written. When a write fails, the items wholly acknowledged are delivered
// and the others are handed back for retry: the item that was being written
// may have reached the collector in part or in whole, so it can arrive
// twice (at-least-once). Then, because a collector can lose bytes its TCP
// already acknowledged (unread when it restarts), the output re-sends on
// the next connection the messages delivered within 10 s before a
// connection ended, at most 1 MiB or the last batch (replay.go): more
// repeats, no loss.
// Repeats carry the same hash in the structured data (and event.hash in the
// payload), so the SIEM can drop them. A collector killed with messages
// still in its own memory queue loses them beyond that: that is the
// collector's durability (rsyslog: a disk-assisted queue), or RELP's.
package syslog
