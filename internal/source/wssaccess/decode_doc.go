// # Decoding an archive (archive.go, elff.go, ecs.go)
//
// A Sync API body, spooled and stripped of its trailer, is decoded in three
// layers, each usable alone:
//
//	a, err := OpenArchive(resp.Archive(), resp.ZipSize) // reads the ZIP directory
//	d := NewDecoder(a)                                   // Archive + Parser
//	m := &Mapper{KeepOriginal: cfg.KeepOriginal, Source: name}
//	for {
//		rec, err := d.Next()
//		// *LineError: dead-letter it (Raw, Hash, Reason) and go on
//		// *DamagedArchiveError: stop, commit nothing, repeat the request
//		// io.EOF: the archive decoded cleanly; now the token may be committed
//		ev, buf, err = m.MapTo(buf[:0], rec, readTime) // *LineError: no usable time
//	}
//
// Archive (OpenArchive, Next, Verify, Stats) yields the lines of the ZIP's
// file entries in directory order. Each entry is a gzip stream, possibly of
// several concatenated members (read as one stream), or, tolerated, plain
// ELFF text; LF and CRLF end lines, empty lines are skipped and counted.
// Memory is bounded whatever the archive's size: the entries are streamed,
// never read whole, and a line over MaxLine (DefaultMaxLine, 1 MiB) is a
// *LineError carrying its size, first bytes and hash, after which reading
// goes on. Anything that stops the archive from being read to its end (no
// directory, an entry that is neither gzip nor ELFF text, corrupt or
// truncated data, a gzip or ZIP CRC or size mismatch) is a sticky
// *DamagedArchiveError (errors.Is ErrDamagedArchive) naming the entry: the
// Sync API's abort and partial-ZIP cases, answered by repeating the
// request. Checksums are known only at the end of a stream, so lines of a
// damaged entry may have been handed out first: commit nothing of an
// archive before io.EOF (the repeat's lines are dropped by dedup), or call
// Verify first to refuse a damaged archive before its first line, at the
// cost of a second decompression (BenchmarkVerify: about a sixth of
// decoding and mapping). Verify cannot be cheaper and keep its promise: a
// ZIP CRC over the stored bytes does not see a gzip stream the server cut
// before storing it (the abort case), only inflating it to its end does.
//
// Parser (and Decoder, which couples it to an Archive) turns lines into
// Records. Every file states its columns in a #Fields header; a new #Fields
// line applies from where it stands, and a new file never inherits the
// previous file's columns. Other directives (#Software, #Version, #Date,
// #Remark) are ignored. Values are separated by spaces or tabs; "-" is an
// empty value; a double-quoted value may hold separators, and inside it ""
// stands for one quote (the W3C draft) while a lone quote not followed by a
// separator is kept as is (ProxySG does not escape inner quotes). Bad lines
// (a value count that differs from the fields, an unterminated quote, a
// record before any #Fields, an unusable #Fields) are *LineErrors with a
// reason. A Record is reused: Values are slices of the line buffer, valid
// until the next call, and nothing is allocated per line.
//
// The dedup key of a line (Record.Hash, LineError.Hash, event.hash in hex)
// is the SHA-256 of the raw line bytes without its terminator (LF or CRLF):
// the same line sent again, by a repeated request or a token restart,
// hashes the same.
//
// Mapper turns a Record into one line of ECS 8.11 JSON (ecs_conformance_test
// checks it against internal/event/testdata/ecs-8.11-fields.tsv). It writes
// through internal/event's JSON appenders, so the output is valid JSON
// whatever bytes the line holds: invalid UTF-8 becomes U+FFFD, control
// characters are escaped. A plain line (printable ASCII, no backslash, no
// quote inside a value: nearly all) has its values copied between quotes
// instead, which writes the same bytes (plain.go). The mapping:
//
//	@timestamp                  date + time (UTC); else x-timestamp-unix (s or ms)
//	event.kind                  event
//	event.category              [web, network]
//	event.type                  [access, allowed|denied]: sc-filter-result OBSERVED or
//	                            PROXIED is allowed, DENIED denied, anything else adds nothing
//	event.action                s-action
//	event.outcome               failure when denied or sc-status >= 400, success for
//	                            another valid status, else unknown
//	event.reason                x-exception-id
//	event.risk_score            cs-threat-risk (a number)
//	event.duration              time-taken (ms) in ns
//	event.id                    x-bluecoat-transaction-uuid
//	event.hash                  the line's SHA-256, hex
//	event.dataset, module       wss.access, wss
//	event.created               the read time given to MapTo (left out when zero)
//	event.original              the raw line, only with KeepOriginal
//	url.full                    scheme://host[:port]path[?query], the port left out when
//	                            it is the scheme's default
//	url.domain/scheme/port/path cs-host, cs-uri-scheme, cs-uri-port, cs-uri-path
//	url.query, url.extension    cs-uri-query and cs-uri-extension without their "?" and "."
//	http.request.method         cs-method
//	http.request.referrer       cs(Referer)
//	http.request.bytes          cs-bytes
//	http.response.status_code   sc-status (100-999)
//	http.response.bytes         sc-bytes
//	http.response.mime_type     rs(Content-Type) before any ";"
//	user_agent.original         cs(User-Agent)
//	user.name                   cs-username, else cs-userdn
//	user.group.name             cs-auth-groups
//	source.ip                   c-ip
//	source.geo.country_iso_code x-cs-client-ip-country
//	destination.ip              r-ip: the origin server the proxy connected to
//	destination.domain, port    cs-host, cs-uri-port
//	observer.ip                 s-ip: in ProxySG/WSS logs the proxy's own address,
//	                            so it describes the observer, not the destination
//	observer.name               x-bluecoat-appliance-name
//	observer.vendor/product/type Broadcom, Web Security Service, proxy
//	organization.id             x-bluecoat-request-tenant-id
//	tls.cipher                  x-rs-connection-negotiated-cipher
//	tls.version(_protocol)      x-rs-connection-negotiated-ssl-version (TLSv1.2 -> 1.2, tls)
//	tls.server.x509.subject.common_name x-rs-certificate-hostname
//	threat.software.name        x-virus-id (the detected malware's name)
//	rule.category               cs-categories, split at ";"
//	related.ip/user/hosts       source and destination IPs, user.name, url.domain
//	labels.source               Mapper.Source
//	wss.access.<key>            every other non-empty column, as a string
//
// A value that does not fit its field (an address that does not parse, a
// status that is not a number, a port out of range) leaves the ECS field
// out and stays, raw, under wss.access; so do columns an ECS field renders
// only in part (sc-filter-result, rs(Content-Type) with parameters, the
// cs-userdn a cs-username took precedence over). A line without a usable
// time is a *LineError: no document can be filed without one.
//
// wss.access keys are the column names sanitised for JSON and Elasticsearch:
// ASCII letters lower-cased, digits kept, each run of other bytes one "_",
// none at either end (cs(Referer) -> cs_referer, x-virus-id -> x_virus_id);
// a name left empty becomes column_<n>, and a key already taken in the same
// #Fields gets _2, _3, ... so that no document has a duplicate key.
package wssaccess
