#!/usr/bin/env python3
"""Independent verifier of the Accord protocol v1 test vectors (spec/vectors/*.json).

Run from the repository root (Python 3.11+, standard library only):

    python3 spec/tools/verify_vectors.py        # or: ... verify_vectors.py VECTOR_DIR

Written from the specification documents (spec/*.md), not from the Rust code.
It recomputes every value of the vectors that can be recomputed (keys, ids,
signing inputs, deterministic Ed25519 signatures, hashes, envelopes, the room
order, verdicts, state and history hash, Merkle roots and proofs, checkpoint
texts and notes, equivocation proofs, the report, the federation messages and
the events and identity pairs they carry, the list range fetch, the list
announcement and the equivocation gossip message, the policy manifest exchange,
the moderator actions and the audit log export with its tampered variants),
checks that
every signed body and list entry is in canonical encoding (encoding.md §1.2),
and finally ("strictness") signs deliberately wrong variants with the vector
keys and checks that they are refused with the codes the spec gives. It prints
one line per group of checks and ends with "N passed, M failed"; the exit
status is non-zero if any check failed.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path

# ---------------------------------------------------------------- bookkeeping

RESULTS = {}  # group -> [number passed, [failure messages]]

def check(group, what, ok):
    entry = RESULTS.setdefault(group, [0, []])
    entry[0] += bool(ok)
    entry[1] += [] if ok else [what]

def check_eq(group, what, got, want):
    check(group, f"{what}: got {got!r}, want {want!r}", got == want)

class Refused(Exception):
    """An object refused with one of the spec's stable error codes."""
    def __init__(self, code, detail=""):
        super().__init__(f"{code}: {detail}")
        self.code = code

def check_refused(group, what, code, fn, *args):
    """Checks that fn(*args) is refused with `code` ("accepted" if it is not)."""
    try:
        fn(*args)
        got = "accepted"
    except Refused as e:
        got = e.code
    check_eq(group, what, got, code)

def run(group, what, fn, *args):  # Runs fn; being refused (or any error) is a failed check.
    try:
        result = fn(*args)
        check(group, what, True)
        return result
    except (Refused, ValueError, KeyError, TypeError) as e:
        check(group, f"{what}: {type(e).__name__} {e}", False)

def sha256(data): return hashlib.sha256(data).digest()

# ------------------------------------------- Ed25519 (RFC 8032 §6, strict)
# The RFC 8032 §6 reference code (extended coordinates) with the strict rules
# of encoding.md §2.4: canonical point encodings, no small-order key or R,
# S < L, and the cofactorless equation checked as encode([S]B - [k]A) == R.

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493  # the group order L
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)

def point_add(p1, p2):
    a, b = (p1[1] - p1[0]) * (p2[1] - p2[0]) % P, (p1[1] + p1[0]) * (p2[1] + p2[0]) % P
    c, d = 2 * p1[3] * p2[3] * D % P, 2 * p1[2] * p2[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f, g * h, f * g, e * h)

def point_mul(s, pt):
    acc = IDENTITY
    while s > 0:
        if s & 1: acc = point_add(acc, pt)
        pt, s = point_add(pt, pt), s >> 1
    return acc

def recover_x(y, sign):
    if y >= P: return None  # y >= p is not canonical: refused (encoding.md §2.4 step 1)
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 % P == 0: return None if sign else 0  # sign bit 1 with x = 0: refused
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0: x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0: return None
    return P - x if (x & 1) != sign else x

G_Y = 4 * pow(5, P - 2, P) % P
G_X = recover_x(G_Y, 0)
BASE = (G_X, G_Y, 1, G_X * G_Y % P)

def point_compress(pt):
    zinv = pow(pt[2], P - 2, P)
    x, y = pt[0] * zinv % P, pt[1] * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")

def point_decompress(b):
    if len(b) != 32: return None
    n = int.from_bytes(b, "little")
    y, x = n & ((1 << 255) - 1), recover_x(n & ((1 << 255) - 1), n >> 255)
    return None if x is None else (x, y, 1, x * y % P)

def small_order(pt):  # [8]P is the identity: x = 0 and y = z
    q = point_mul(8, pt)
    return q[0] % P == 0 and (q[1] - q[2]) % P == 0

def decode_key(b):  # A public key: the canonical encoding of a point not of small order.
    pt = point_decompress(b)
    if pt is None: raise ValueError("not the canonical encoding of a curve point")
    if small_order(pt): raise ValueError("weak (small-order) key")
    return pt

def sha512_modq(data): return int.from_bytes(hashlib.sha512(data).digest(), "little") % Q

def secret_expand(seed):  # RFC 8032 §5.1.5: clamped scalar and prefix
    h = hashlib.sha512(seed).digest()
    return int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254), h[32:]

def public_key(seed): return point_compress(point_mul(secret_expand(seed)[0], BASE))

def sign(seed, msg):
    a, prefix = secret_expand(seed)
    r = sha512_modq(prefix + msg)
    r_bytes = point_compress(point_mul(r, BASE))
    s = (r + sha512_modq(r_bytes + public_key(seed) + msg) * a) % Q
    return r_bytes + s.to_bytes(32, "little")

def verify(pub, msg, sig):  # Strict single verification, encoding.md §2.4 steps 1-4.
    a_pt, r_pt, s = point_decompress(pub), point_decompress(sig[:32]), int.from_bytes(sig[32:], "little")
    if a_pt is None or small_order(a_pt) or len(sig) != 64 or s >= Q or r_pt is None or small_order(r_pt):
        return False
    ka = point_mul(sha512_modq(sig[:32] + pub + msg), a_pt)
    neg_ka = ((-ka[0]) % P, ka[1], ka[2], (-ka[3]) % P)
    return point_compress(point_add(point_mul(s, BASE), neg_ka)) == sig[:32]

# ----------------------------------------------------------------- text forms

def b64d(text):  # Canonical standard padded base64 only (encoding.md §1.3).
    if not isinstance(text, str): raise ValueError("base64: not a string")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text: raise ValueError("base64: not the canonical encoding")
    return raw

def b64e(raw): return base64.b64encode(raw).decode()

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

def bech32_polymod(values):
    gen, chk = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3], 1
    for v in values:
        top, chk = chk >> 25, (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk

def hrp_expand(hrp): return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]

def bech32m_encode(hrp, data):  # identities.md §1.1 encoding: 8-to-5 bits with zero padding, bech32m checksum.
    acc = bits = 0
    values = []
    for byte in data:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            values.append((acc >> bits) & 31)
    if bits: values.append((acc << (5 - bits)) & 31)
    pm = bech32_polymod(hrp_expand(hrp) + values + [0] * 6) ^ 0x2BC830A3
    return hrp + "1" + "".join(BECH32[v] for v in values + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])

def bech32m_decode(hrp, text):  # identities.md §1.1 decoding steps 1-5 (the padding bits are not checked).
    if not isinstance(text, str) or len(text) > 100 or text != text.lower():
        raise ValueError("bech32m: not a lowercase string of at most 100 characters")
    sep = text.rfind("1")
    found, data = text[:sep], text[sep + 1 :]
    if sep < 1 or len(data) < 6 or any(c not in BECH32 for c in data): raise ValueError("bech32m: syntax")
    values = [BECH32.index(c) for c in data]
    if bech32_polymod(hrp_expand(found) + values) != 0x2BC830A3: raise ValueError("bech32m: checksum")
    if found != hrp: raise ValueError(f"bech32m: prefix {found!r}, expected {hrp!r}")
    acc = bits = 0
    out = bytearray()
    for v in values[:-6]:
        acc, bits = (acc << 5) | v, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if len(out) != 32: raise ValueError("bech32m: not 32 bytes")
    return bytes(out)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
PEER_PREFIX = bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])

def b58encode(raw):
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out

def b58decode(text):
    n = 0
    for c in text:
        if c not in B58: raise ValueError("base58: bad character")
        n = n * 58 + B58.index(c)
    return b"\0" * (len(text) - len(text.lstrip("1"))) + (n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b"")

def node_text(key): return b58encode(PEER_PREFIX + key)
def acct(key): return bech32m_encode("acct", key)

# Decoders of text inside bodies take `nc`, a list that collects why the body
# is not canonical (encoding.md §1.2 condition (c): texts re-encode identically).

def id_text(hrp, text, nc):
    raw = bech32m_decode(hrp, text)
    if hrp in ("acct", "iss"): decode_key(raw)
    if bech32m_encode(hrp, raw) != text: nc.append(f"{hrp} id does not re-encode identically")
    return raw

def node_id(text, nc=None):
    if not isinstance(text, str) or len(text) > 60: raise ValueError("node id: too long")
    raw = b58decode(text)
    if len(raw) != 38 or raw[:6] != PEER_PREFIX: raise ValueError("node id: not an Ed25519 PeerId")
    decode_key(raw[6:])
    if nc is not None and node_text(raw[6:]) != text: nc.append("node id does not re-encode identically")
    return raw[6:]

def hex64(text):
    if not isinstance(text, str) or len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError("not 64 hex digits")
    return bytes.fromhex(text)

def hash_hex(text, nc):  # a "hash" field: either case parses, only lowercase is canonical
    raw = hex64(text)
    if raw.hex() != text: nc.append("hash is not lowercase hex")
    return raw

def content_hash(text):  # identities.md §1.4: lowercase only
    if hex64(text).hex() != text: raise ValueError("content hash: not lowercase")
    return bytes.fromhex(text)

def check_name(name, limit, underscore):
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-" + ("_" if underscore else ""))
    if not 1 <= len(name) <= limit or any(c not in allowed for c in name) or name[0] in ".-_":
        raise ValueError(f"name {name!r} breaks identities.md §1.3")

def handle(text):
    name, at, node = text.partition("@")
    if not at: raise ValueError("handle: expected name@node")
    check_name(name, 32, True)
    check_name(node, 253, False)
    return text

def list_id(text):
    issuer, slash, name = text.partition("/")
    if not slash: raise ValueError("list id: expected ISSUER/NAME")
    check_name(name, 64, True)
    return id_text("iss", issuer, []), name

def list_text(lid): return bech32m_encode("iss", lid[0]) + "/" + lid[1]

# ------------------------------------------------ strict JSON, canonical form

def _pairs(pairs):
    if len({k for k, _ in pairs}) != len(pairs): raise ValueError("a field appears twice")
    return dict(pairs)

def _int(text):
    if text.startswith("-"): raise ValueError("negative number")
    return int(text)

def _reject(text):
    raise ValueError(f"not an integer: {text}")

def parse_json(raw):  # encoding.md §1.1 rules 1-3 and 6: UTF-8, syntax, duplicates, integers.
    value = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs, parse_int=_int,
                       parse_float=_reject, parse_constant=_reject)
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # escaped lone surrogates fail here
    return value

def reserialise(value):  # encoding.md §1.2 condition (a): compact, keys as received, minimal escapes.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

def fields(obj, nc, table, optional=(), defaults=()):
    """Checks an object against its field table (names in canonical order)."""
    if isinstance(obj, list):  # a positional array parses, but is never canonical
        raise Refused("non_canonical", "positional array")
    if not isinstance(obj, dict): raise ValueError("expected an object")
    for k in obj:
        if k not in table: raise ValueError(f"unknown field {k!r}")
    for k in table:
        if k not in obj and k not in optional and k not in defaults: raise ValueError(f"missing field {k!r}")
        if obj.get(k, 0) is None:
            if k in defaults: raise ValueError(f"{k!r} is null")
            nc.append(f"{k!r} written as null")
    if list(obj) != [k for k in table if k in obj]: nc.append(f"fields not in table order: {list(obj)}")
    return {k: obj.get(k) for k in table}

def integer(v, limit=2**64 - 1):
    if type(v) is not int or not 0 <= v <= limit: raise ValueError(f"integer out of range: {v!r}")
    return v

def timestamp(v): return integer(v, 2**53 - 1)

def text(v, limit):  # Bounded text (encoding.md §6.2): UTF-8 byte limit, no Cc but LF and TAB.
    if not isinstance(v, str) or len(v.encode("utf-8")) > limit: raise ValueError("text: not a string or too long")
    if any((ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) and c not in "\n\t" for c in v):
        raise ValueError("text: control character")
    return v

def one_of(v, allowed):
    if v not in allowed: raise ValueError(f"{v!r} is not one of {allowed}")
    return v

def optional(v, fn): return None if v is None else fn(v)

# --------------------------------------------------------------- field tables

CATEGORIES = ("child_sexual_abuse", "grooming", "sex_trafficking", "drugs", "violence", "harassment",
              "impersonation", "spam", "other")
ROLES = {"member": 0, "moderator": 50, "owner": 100}

def p_identity(j, nc):  # identities.md §2
    f = fields(j, nc, ["account", "handle", "home", "created"])
    return dict(account=id_text("acct", f["account"], nc), handle=handle(f["handle"]),
                home=node_id(f["home"], nc), created=timestamp(f["created"]))

def p_attestation(j, nc):  # identities.md §3
    f = fields(j, nc, ["account", "identity", "node", "registered", "level"])
    return dict(account=id_text("acct", f["account"], nc), identity=hash_hex(f["identity"], nc),
                node=node_id(f["node"], nc), registered=timestamp(f["registered"]),
                level=one_of(f["level"], ("open", "invited", "verified")))

def p_rotation(j, nc):  # identities.md §4.1
    f = fields(j, nc, ["old", "new", "ts"])
    return dict(old=id_text("acct", f["old"], nc), new=id_text("acct", f["new"], nc), ts=timestamp(f["ts"]))

def p_auth(j, nc):  # client-api.md §2
    f = fields(j, nc, ["account", "node", "challenge", "ts"])
    if not isinstance(f["challenge"], str): raise ValueError("challenge: not a string")
    return dict(account=id_text("acct", f["account"], nc), node=node_id(f["node"], nc),
                challenge=f["challenge"], ts=timestamp(f["ts"]))

def p_deletion(j, nc):  # identities.md §5
    f = fields(j, nc, ["account", "home", "ts"])
    return dict(account=id_text("acct", f["account"], nc), home=node_id(f["home"], nc), ts=timestamp(f["ts"]))

def r_auth(v):
    if not 1 <= len(v["challenge"].encode("utf-8")) <= 128: raise Refused("invalid", "challenge must be 1 to 128 bytes")

# events.md §2.2: content type -> (fields after "type" in canonical order, optional ones)
CONTENT = {"create": (["name", "join_rule"], ()), "join": ([], ()), "leave": ([], ()), "invite": (["target"], ()),
           "kick": (["target", "reason"], ("reason",)), "message": (["text", "reply_to", "attachments"], ("reply_to", "attachments")),
           "redact": (["target", "reason"], ("reason",)), "set_role": (["target", "role"], ()),
           "ban": (["target", "reason"], ("reason",)), "unban": (["target"], ())}

def p_content(j, nc):
    kind = j.get("type") if isinstance(j, dict) else None
    if isinstance(j, dict) and kind not in CONTENT: raise ValueError(f"unknown content type {kind!r}")
    names, opt = CONTENT.get(kind, ([], ()))
    f, c = fields(j, nc, ["type"] + names, opt), dict(type=kind)
    if kind == "create": c.update(name=text(f["name"], 128), join_rule=one_of(f["join_rule"], ("public", "invite")))
    if "target" in names: c["target"] = id_text("ev" if kind == "redact" else "acct", f["target"], nc)
    if kind == "message":
        c.update(text=text(f["text"], 16384), reply_to=optional(f["reply_to"], lambda t: id_text("ev", t, nc)),
                 attachments=p_attachments(f["attachments"], nc))
    if "reason" in names: c["reason"] = optional(f["reason"], lambda t: text(t, 1024))
    if kind == "set_role": c["role"] = one_of(f["role"], tuple(ROLES))
    return c

# events.md §2.3: attachment media types; images have dimensions, other files none
MEDIA_TYPES = ("image/png", "image/jpeg", "application/pdf", "text/plain", "application/octet-stream")
IMAGE_TYPES = ("image/png", "image/jpeg")

def p_attachments(v, nc):  # an array omitted when empty
    if v is None: return []
    if not isinstance(v, list): raise ValueError("attachments: not an array")
    if v == []: nc.append("empty attachments written")
    out = []
    for a in v:
        f = fields(a, nc, ["hash", "size", "type", "width", "height"], optional=("width", "height"))
        out.append(dict(hash=hash_hex(f["hash"], nc), size=integer(f["size"]), type=one_of(f["type"], MEDIA_TYPES),
                        width=optional(f["width"], lambda w: integer(w, 2**32 - 1)),
                        height=optional(f["height"], lambda h: integer(h, 2**32 - 1))))
    return out

def r_attachments(atts):  # events.md §2.3 rules, each an `invalid`
    if len(atts) > 8: raise Refused("invalid", "more than 8 attachments")
    if len({a["hash"] for a in atts}) != len(atts): raise Refused("invalid", "an attachment listed twice")
    for a in atts:
        if a["size"] == 0: raise Refused("invalid", "empty attachment")
        dims = (a["width"], a["height"])
        if a["type"] in IMAGE_TYPES:
            if None in dims or not all(1 <= d <= 16384 for d in dims): raise Refused("invalid", "image dimensions")
        elif dims != (None, None): raise Refused("invalid", "dimensions on a file that is not an image")

def p_event_body(j, nc):  # events.md §2.1
    f = fields(j, nc, ["room", "author", "ts", "content"], optional=("room",))
    return dict(room=optional(f["room"], lambda t: id_text("room", t, nc)), author=id_text("acct", f["author"], nc),
                ts=timestamp(f["ts"]), content=p_content(f["content"], nc))

def r_event_body(v):
    if (v["content"]["type"] == "create") != (v["room"] is None):
        raise Refused("invalid", "room must be absent exactly for create")
    if v["content"]["type"] == "message":
        if v["content"]["text"] == "" and not v["content"]["attachments"]: raise Refused("invalid", "empty message")
        r_attachments(v["content"]["attachments"])

def p_stamp(j, nc):  # events.md §3.1
    f = fields(j, nc, ["event", "room", "origin", "seq", "depth", "prev", "received"])
    if not isinstance(f["prev"], list): raise ValueError("prev: not an array")
    return dict(event=id_text("ev", f["event"], nc), room=id_text("room", f["room"], nc),
                origin=node_id(f["origin"], nc), seq=integer(f["seq"]), depth=integer(f["depth"]),
                prev=[id_text("ev", e, nc) for e in f["prev"]], received=timestamp(f["received"]))

def r_stamp(v):
    if v["seq"] == 0 or len(v["prev"]) > 16 or len(set(v["prev"])) != len(v["prev"]) or v["event"] in v["prev"]:
        raise Refused("invalid", "stamp rules (seq, prev)")

def p_signed_bytes(j, nc):  # encoding.md §2.1
    f = fields(j, nc, ["signer", "body", "sig"])
    signer, body, sig = b64d(f["signer"]), b64d(f["body"]), b64d(f["sig"])
    decode_key(signer)
    if len(sig) != 64: raise ValueError("signature: not 64 bytes")
    return signer, body, sig

def p_wire_event(j, nc):  # events.md §1
    f = fields(j, nc, ["author", "origin"])
    return p_signed_bytes(f["author"], nc), p_signed_bytes(f["origin"], nc)

def p_report(j, nc):  # reports.md §2
    f = fields(j, nc, ["reporter", "category", "subject", "evidence", "context", "comment", "ts"],
               optional=("subject", "comment"), defaults=("evidence", "context"))
    if "evidence" not in j: nc.append("evidence is always written")
    if j.get("context") == []: nc.append("context is omitted when empty")
    evidence, context = f["evidence"] or [], f["context"] or []
    if not isinstance(evidence, list) or not isinstance(context, list): raise ValueError("evidence/context: not arrays")
    return dict(reporter=id_text("acct", f["reporter"], nc), category=one_of(f["category"], CATEGORIES),
                subject=optional(f["subject"], lambda t: id_text("acct", t, nc)),
                evidence=[p_wire_event(e, nc) for e in evidence], context=[p_wire_event(e, nc) for e in context],
                comment=optional(f["comment"], lambda t: text(t, 4096)), ts=timestamp(f["ts"]))

def r_report(v):
    if not v["evidence"] and v["subject"] is None: raise Refused("invalid", "a report needs evidence or a subject")
    if len(v["evidence"]) > 32 or len(v["context"]) > 16: raise Refused("invalid", "too many events")

MAX_MANIFEST_LISTS = 1024  # federation.md §7.1

def p_manifest(j, nc):  # federation.md §7.1
    f = fields(j, nc, ["node", "name", "lists", "time"], optional=("name",))
    if f["name"] is not None: dns_name(f["name"])
    if not isinstance(f["lists"], list): raise ValueError("lists: not an array")
    lists = []
    for d in f["lists"]:
        df = fields(d, nc, ["list", "size"])
        if not isinstance(df["list"], str): raise ValueError("list: not a string")
        issuer, slash, name = df["list"].partition("/")
        if not slash: raise ValueError("list id: expected ISSUER/NAME")
        check_name(name, 64, True)
        lists.append(((id_text("iss", issuer, nc), name), integer(df["size"])))
    return dict(node=node_id(f["node"], nc), lists=lists, time=timestamp(f["time"]))

def r_manifest(v):  # at most 1024 lists, each once, in ascending order of (issuer key bytes, name bytes)
    ids = [lid for lid, _ in v["lists"]]
    if len(ids) > MAX_MANIFEST_LISTS: raise Refused("invalid", "more than 1024 lists")
    if len(set(ids)) != len(ids): raise Refused("invalid", "a list is declared twice")
    key = lambda lid: (lid[0], lid[1].encode())
    if any(key(a) >= key(b) for a, b in zip(ids, ids[1:])): raise Refused("invalid", "lists not ordered by list id")

VERDICTS = ("dismiss", "hide", "suspend", "block", "quarantine",  # reports.md §9
            "assign", "mute", "unmute", "appeal", "uphold", "overturn")  # reports.md §9.1, §15

def moderator_id(v, nc):  # reports.md §9: a moderator account id, or a node id
    return id_text("acct", v, nc) if isinstance(v, str) and v.startswith("acct1") else node_id(v, nc)

def p_mod_action(j, nc):  # reports.md §9
    f = fields(j, nc, ["node", "moderator", "case", "action", "list", "reason", "expires", "assignee", "report",
                       "appeal", "ts"], optional=("list", "reason", "expires", "assignee", "report", "appeal"))
    lid = None
    if f["list"] is not None:
        if not isinstance(f["list"], str): raise ValueError("list: not a string")
        issuer, slash, name = f["list"].partition("/")
        if not slash: raise ValueError("list id: expected ISSUER/NAME")
        check_name(name, 64, True)
        lid = (id_text("iss", issuer, nc), name)
    return dict(node=node_id(f["node"], nc), moderator=moderator_id(f["moderator"], nc),
                case=hash_hex(f["case"], nc), action=one_of(f["action"], VERDICTS), list=lid,
                reason=optional(f["reason"], lambda t: text(t, 1024)), expires=optional(f["expires"], timestamp),
                assignee=optional(f["assignee"], lambda a: id_text("acct", a, nc)),
                report=optional(f["report"], lambda h: hash_hex(h, nc)),
                appeal=optional(f["appeal"], lambda h: hash_hex(h, nc)), ts=timestamp(f["ts"]))

def r_mod_action(v):  # reports.md §9 table rules
    if (v["list"] is None) == (v["action"] in ("hide", "suspend", "block", "quarantine")):
        raise Refused("invalid", "a list is present exactly when the action writes entries")
    if v["list"] is not None and v["list"][0] != v["node"]: raise Refused("invalid", "the list is not the node's")
    if (v["expires"] is None) == (v["action"] == "suspend"): raise Refused("invalid", "expires is for suspend only")
    if v["expires"] is not None and v["expires"] <= v["ts"]: raise Refused("invalid", "expires is not after ts")
    if v["assignee"] is not None and v["action"] != "assign": raise Refused("invalid", "assignee is for assign only")
    if (v["report"] is None) == (v["action"] in ("mute", "unmute")):
        raise Refused("invalid", "report is present exactly for mute and unmute")
    if (v["appeal"] is None) == (v["action"] in ("appeal", "uphold", "overturn")):
        raise Refused("invalid", "appeal is present exactly for appeal, uphold and overturn")
    if v["action"] == "appeal" and v["moderator"] != v["node"]: raise Refused("invalid", "the node records an appeal")

def p_appeal(j, nc):  # reports.md §15
    f = fields(j, nc, ["account", "node", "case", "decision", "reason", "ts"])
    return dict(account=id_text("acct", f["account"], nc), node=node_id(f["node"], nc), case=hash_hex(f["case"], nc),
                decision=hash_hex(f["decision"], nc), reason=text(f["reason"], 2048), ts=timestamp(f["ts"]))

def r_appeal(v):
    if not v["reason"].strip(): raise Refused("invalid", "an appeal needs a reason")

def p_name_proof(j, nc):  # names.md §2
    f = fields(j, nc, ["name", "node", "addrs", "issued", "expires"], optional=("addrs",))
    if j.get("addrs") == []: nc.append("addrs is omitted when empty")
    addrs = f["addrs"] or []
    if not isinstance(addrs, list) or not all(isinstance(a, str) for a in addrs): raise ValueError("addrs")
    return dict(name=dns_name(f["name"]), node=node_id(f["node"], nc), addrs=addrs,
                issued=timestamp(f["issued"]), expires=timestamp(f["expires"]))

def r_name_proof(v):  # names.md §2 table rules
    if v["expires"] <= v["issued"]: raise Refused("invalid", "expires is not after issued")
    if v["expires"] - v["issued"] > 90 * 86400000: raise Refused("invalid", "valid for more than 90 days")
    if len(v["addrs"]) > 16: raise Refused("invalid", "more than 16 addresses")
    if any(not 1 <= len(a.encode()) <= 256 or any(ord(c) < 32 or ord(c) == 127 for c in a) for a in v["addrs"]):
        raise Refused("invalid", "bad address")

def check_name_claim(document, node, name, now):  # names.md §3 steps 3-8
    if len(document) > 8192: raise Refused("too_large")
    try:
        env = json.loads(document)
    except ValueError as e:
        raise Refused("malformed", str(e))
    v, _ = verify_envelope(env, "name_proof")
    if v["node"] != node: raise Refused("wrong_node")
    if v["name"] != name: raise Refused("wrong_name")
    if v["issued"] > now + 300000: raise Refused("not_yet_valid")
    if v["expires"] <= now: raise Refused("expired")
    return v

def p_audit_head(j, nc):  # reports.md §10
    f = fields(j, nc, ["node", "size", "root", "ts"])
    return dict(node=node_id(f["node"], nc), size=integer(f["size"]), root=hash_hex(f["root"], nc),
                ts=timestamp(f["ts"]))

# kind -> (domain tag, body limit, parser, who must sign, cross-field rules); encoding.md §2.3
KINDS = {
    "identity": ("accord/v1/identity", 2048, p_identity, lambda v: v["account"], None),
    "attestation": ("accord/v1/attestation", 2048, p_attestation, lambda v: v["node"], None),
    "event": ("accord/v1/event", 24576, p_event_body, lambda v: v["author"], r_event_body),
    "origin": ("accord/v1/event-origin", 4096, p_stamp, lambda v: v["origin"], r_stamp),
    "report": ("accord/v1/report", 1048576, p_report, lambda v: v["reporter"], r_report),
    "auth": ("accord/v1/auth", 1024, p_auth, lambda v: v["account"], r_auth),
    "manifest": ("accord/v1/manifest", 262144, p_manifest, lambda v: v["node"], r_manifest),
    "mod_action": ("accord/v1/mod-action", 4096, p_mod_action, lambda v: v["moderator"], r_mod_action),
    "audit_head": ("accord/v1/audit-head", 1024, p_audit_head, lambda v: v["node"], None),
    "name_proof": ("accord/v1/node-name", 4096, p_name_proof, lambda v: v["node"], r_name_proof),
    "account_deletion": ("accord/v1/account-deletion", 2048, p_deletion, lambda v: v["account"], None),
    "appeal": ("accord/v1/appeal", 4096, p_appeal, lambda v: v["account"], r_appeal),
}
ROTATION_TAG = "accord/v1/rotation"

# --------------------------------------------------------- envelopes, events

def parse_canonical(body, parser, code="malformed"):
    """Parses (failure: `code`), then requires the canonical encoding (non_canonical)."""
    nc = []
    try:
        raw = parse_json(body)
        value = parser(raw, nc)
    except (ValueError, TypeError, AttributeError) as e:
        raise Refused(code, str(e))
    if reserialise(raw) != body: nc.append("not compact, or escapes not minimal")
    if nc: raise Refused("non_canonical", "; ".join(nc))
    return value

def verify_signed(signer, body, sig, kind):  # encoding.md §2.6 steps 1-6.
    tag, limit, parser, signer_of, rules = KINDS[kind]
    if len(body) > limit: raise Refused("too_large")
    if not verify(signer, tag.encode() + b"\0" + body, sig): raise Refused("bad_signature")
    value = parse_canonical(body, parser)
    if signer_of(value) != signer: raise Refused("signer_mismatch")
    if rules: rules(value)
    return value

def verify_envelope(j, kind):
    signer, body, sig = p_signed_bytes(j, [])  # a carrier: its own field order is free
    return verify_signed(signer, body, sig, kind), body

def verify_rotation(j):  # identities.md §4.3.
    f = fields(j, [], ["old", "new", "body", "old_sig", "new_sig"])
    old, new, body = b64d(f["old"]), b64d(f["new"]), b64d(f["body"])
    if len(body) > 2048: raise Refused("too_large")
    signing_input = ROTATION_TAG.encode() + b"\0" + body
    if not (verify(old, signing_input, b64d(f["old_sig"])) and verify(new, signing_input, b64d(f["new_sig"]))):
        raise Refused("bad_signature")
    v = parse_canonical(body, p_rotation)
    if v["old"] != old or v["new"] != new: raise Refused("signer_mismatch")
    if old == new: raise Refused("invalid")
    return v

def verify_event_parts(author, origin):  # events.md §3.2: both envelopes, then assemble (inconsistent_event).
    body, stamp = verify_signed(*author, "event"), verify_signed(*origin, "origin")
    eid = sha256(author[1])
    bad = stamp["event"] != eid
    if body["content"]["type"] == "create":
        bad = bad or stamp["room"] != eid or stamp["depth"] != 0 or stamp["prev"] or stamp["seq"] != 1
    else:
        bad = bad or body["room"] != stamp["room"] or stamp["depth"] == 0 or not stamp["prev"]
    if bad: raise Refused("inconsistent_event")
    return dict(id=eid, body=body, stamp=stamp)

def verify_event(j): return verify_event_parts(*p_wire_event(j, []))

# ------------------------------------------------------ room rules (events §4-§6)

class RoomState:
    def __init__(self, create):  # events.md §6.1
        author = create["body"]["author"]
        self.room, self.join_rule = create["id"], create["body"]["content"]["join_rule"]
        self.members, self.roles = {author}, {author: "owner"}
        self.bans, self.invites, self.redacted, self.message_authors = set(), set(), set(), {}
        self.history, self.accepted = sha256(b"accord/v1/history\0" + self.room), 0
        self.extend(create["id"])

    def extend(self, eid):  # events.md §6.3
        self.history, self.accepted = sha256(self.history + eid), self.accepted + 1

    def power(self, account):
        return ROLES[self.roles.get(account, "member")]

    def authorize(self, e):  # events.md §5: None if allowed, else the code of the first failing check.
        a, c = e["body"]["author"], e["body"]["content"]
        kind, me, t = c["type"], self.power(a), c.get("target")
        if e["stamp"]["room"] != self.room: return "wrong_room"
        if a in self.bans: return "banned"
        if kind == "create": return "extra_create"
        if kind == "join":
            if a in self.members: return "already_member"
            return "not_invited" if self.join_rule == "invite" and a not in self.invites else None
        if a not in self.members: return "not_member"
        if kind == "invite": return "bad_target" if t in self.bans or t in self.members else None
        if kind == "kick" and t not in self.members: return "bad_target"
        if kind in ("kick", "ban") and (me < 50 or me <= self.power(t)): return "forbidden"
        if kind == "ban": return "bad_target" if t in self.bans else None
        if kind == "unban": return "forbidden" if me < 50 else "bad_target" if t not in self.bans else None
        if kind == "redact": return None if self.message_authors.get(t) == a or me >= 50 else "forbidden"
        if kind == "set_role":
            if t not in self.members: return "bad_target"
            new = ROLES[c["role"]]
            self_demotion = t == a and new <= me
            allowed = me >= 50 and me > self.power(t) and (new < me or me == 100)
            return None if self_demotion or allowed else "forbidden"
        return None  # leave, message, an allowed kick

    def apply(self, e):  # events.md §6.2; returns the verdict.
        verdict = self.authorize(e)
        if verdict: return verdict
        a, c = e["body"]["author"], e["body"]["content"]
        kind, t = c["type"], c.get("target")
        if kind == "join":
            self.invites.discard(a)
            self.members.add(a)
        elif kind == "leave": self.members.discard(a)
        elif kind == "invite": self.invites.add(t)
        elif kind in ("kick", "ban"):  # both also clear the target's role
            self.members.discard(t)
            self.invites.discard(t)
            self.roles.pop(t, None)
            if kind == "ban": self.bans.add(t)
        elif kind == "message": self.message_authors[e["id"]] = a
        elif kind == "redact": self.redacted.add(t)
        elif kind == "set_role" and c["role"] == "member": self.roles.pop(t, None)
        elif kind == "set_role": self.roles[t] = c["role"]
        elif kind == "unban": self.bans.discard(t)
        self.extend(e["id"])
        return None

def resolve(room, events):  # events.md §4: sort by (depth, id bytes); each id counts once, at its first place.
    ordered = sorted((e for e in events if e["stamp"]["room"] == room), key=lambda e: (e["stamp"]["depth"], e["id"]))
    seen, kept = set(), []
    for e in ordered:
        if e["id"] not in seen:
            seen.add(e["id"])
            kept.append(e)
    create = next((e for e in kept if e["id"] == room), None)
    if create is None: raise Refused("missing_create")
    state = RoomState(create)
    return [(e["id"], None if e is create else state.apply(e)) for e in kept], state

# ------------------------------------------------- Merkle log (blocklists §3, §5)

def leaf_hash(data): return sha256(b"\0" + data)
def node_hash(left, right): return sha256(b"\1" + left + right)

def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k  # the largest power of two strictly less than n

def mth(leaves):
    if len(leaves) <= 1: return leaf_hash(leaves[0]) if leaves else sha256(b"")
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))

def inclusion_path(m, leaves):  # RFC 9162 §2.1.3.1 PATH(m, D[n]).
    if len(leaves) <= 1: return []
    k = split(len(leaves))
    if m < k: return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]

def consistency_proof(m, leaves, complete=True):  # RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    if m == len(leaves): return [] if complete else [mth(leaves)]
    k = split(len(leaves))
    if m <= k: return consistency_proof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return consistency_proof(m - k, leaves[k:], False) + [mth(leaves[:k])]

def verify_inclusion(leaf, index, size, proof, root):  # blocklists.md §5.1.
    if index >= size: raise Refused("proof_range")
    if len(proof) > 64: raise Refused("proof_too_long")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0: raise Refused("proof_mismatch")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root: raise Refused("proof_mismatch")

def consistency_roots(m, n, path):  # blocklists.md §5.3: the roots (fr, sr) that a full consistency path implies.
    if m == 0 or m >= n: raise Refused("proof_range")
    if len(path) > 65: raise Refused("proof_too_long")
    if not path: raise Refused("proof_mismatch")
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: raise Refused("proof_mismatch")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0: raise Refused("proof_mismatch")
    return fr, sr

def verify_consistency(m, n, old_root, new_root, proof):  # blocklists.md §5.2.
    if m > n: raise Refused("proof_range")
    if m == n or m == 0:
        if proof or old_root != (new_root if m == n else sha256(b"")): raise Refused("proof_mismatch")
        return
    if not proof: raise Refused("proof_mismatch")
    fr, sr = consistency_roots(m, n, ([old_root] if m & (m - 1) == 0 else []) + proof)
    if fr != old_root or sr != new_root: raise Refused("proof_mismatch")

# ---------------------------------------- list entries and targets (blocklists §1-§2)

def target_hash(kind, txt): return sha256(kind.encode() + b":" + txt.encode())

def dns_name(t):  # names.md §1
    if not isinstance(t, str) or not 1 <= len(t) <= 253: raise ValueError("DNS name: not 1-253 bytes")
    labels = t.split(".")
    if len(labels) < 2: raise ValueError("DNS name: fewer than two labels")
    for label in labels:
        if not (1 <= len(label) <= 63 and label[0] != "-" and label[-1] != "-"
                and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in label)):
            raise ValueError(f"DNS name: bad label {label!r}")
    if labels[-1].isdigit(): raise ValueError("DNS name: numeric last label")
    return t

def domain_pattern(t):  # names.md §1: NAME or *.NAME
    if isinstance(t, str) and t.startswith("*."): return "*." + dns_name(t[2:])
    return dns_name(t)

def name_patterns(n):  # names.md §1: N, then *.S for each suffix S of at least two labels
    labels = n.split(".")
    return [n] + ["*." + ".".join(labels[i:]) for i in range(len(labels) - 1)]

def p_target(j, nc):
    kind = j.get("type") if isinstance(j, dict) else None
    if kind == "hashed":  # a pdq target has no hashed form (blocklists.md §2.1)
        f = fields(j, nc, ["type", "kind", "hash"])
        return one_of(f["kind"], ("account", "node", "room", "content", "domain")), hash_hex(f["hash"], nc)
    if kind == "domain":  # blocklists.md §2.2, names.md §1
        f = fields(j, nc, ["type", "name"])
        return kind, target_hash(kind, domain_pattern(f["name"]))
    if kind == "pdq":  # blocklists.md §2.1: 256 bits as 64 hex digits, lowercase canonical
        f = fields(j, nc, ["type", "hash"])
        return kind, target_hash(kind, hash_hex(f["hash"], nc).hex())
    f = fields(j, nc, ["type", "id"])
    canonical_text = dict(account=lambda t: acct(id_text("acct", t, nc)), node=lambda t: node_text(node_id(t, nc)),
                          room=lambda t: bech32m_encode("room", id_text("room", t, nc)),
                          content=lambda t: content_hash(t).hex())
    if kind not in canonical_text: raise ValueError(f"unknown target type {kind!r}")
    return kind, target_hash(kind, canonical_text[kind](f["id"]))  # the index key

def p_entry(j, nc):
    op = j.get("op") if isinstance(j, dict) else None
    if op == "add":
        f = fields(j, nc, ["op", "created", "target", "category", "action", "reason", "evidence", "expires"],
                   optional=("reason", "evidence", "expires"))
        return dict(op=op, created=timestamp(f["created"]), target=p_target(f["target"], nc),
                    category=one_of(f["category"], CATEGORIES), action=one_of(f["action"], ("reject", "quarantine")),
                    reason=optional(f["reason"], lambda t: text(t, 1024)),
                    evidence=optional(f["evidence"], lambda t: hash_hex(t, nc)),
                    expires=optional(f["expires"], timestamp))
    if op == "remove":
        f = fields(j, nc, ["op", "created", "entry", "reason"], optional=("reason",))
        return dict(op=op, created=timestamp(f["created"]), entry=integer(f["entry"]),
                    reason=optional(f["reason"], lambda t: text(t, 1024)))
    fields(j, nc, ["op"])  # positional arrays (non_canonical), non-objects
    raise ValueError(f"unknown op {op!r}")

def parse_entry(leaf):  # blocklists.md §1.4: every refusal but the size is invalid_entry.
    if len(leaf) > 4096: raise Refused("too_large")
    try:
        entry = parse_canonical(leaf, p_entry, "invalid_entry")
    except Refused as e:
        raise Refused("invalid_entry", str(e))
    if entry["op"] == "add" and entry["expires"] is not None and entry["expires"] <= entry["created"]:
        raise Refused("invalid_entry", "expires <= created")
    return entry

# -------------------------------------------- checkpoints (blocklists §4, §6)

def note_key_id(name, key): return sha256(name.encode() + b"\n\x01" + key)[:4]

def checkpoint_text(lid, size, root, time):
    return f"accord/v1/list/{list_text(lid)}\n{size}\n{b64e(root)}\ntime {time}\n"

def sign_note(txt, issuer_name, seed):
    blob = note_key_id(issuer_name, public_key(seed)) + sign(seed, txt.encode())
    return f"{txt}\n\u2014 {issuer_name} {b64e(blob)}\n"

def decimal(s, limit):
    if not (s.isascii() and s.isdigit()) or (len(s) > 1 and s[0] == "0") or int(s) > limit:
        raise Refused("malformed_checkpoint", f"bad number {s!r}")
    return int(s)

def verify_checkpoint(note, lid):  # blocklists.md §4.3 steps 1-7.
    issuer_key, issuer_name = lid[0], bech32m_encode("iss", lid[0])
    if len(note.encode("utf-8")) > 8192: raise Refused("too_large")
    at = note.rfind("\n\n")
    if at < 0: raise Refused("malformed_note", "no blank line")
    txt, sigs = note[: at + 1], note[at + 2 :]
    if not sigs or not sigs.endswith("\n") or "\r" in sigs: raise Refused("malformed_note", "signature lines")
    want, found = note_key_id(issuer_name, issuer_key), None
    for i, line in enumerate(sigs[:-1].split("\n")):
        name, _, blob = line[2:].partition(" ")
        if i >= 32 or not line.startswith("\u2014 ") or not name or not blob or " " in blob:
            raise Refused("malformed_note", "bad signature line")
        try:
            blob = b64d(blob)
        except ValueError:
            raise Refused("malformed_note", "signature not base64")
        if len(blob) < 5: raise Refused("malformed_note", "signature too short")
        if name == issuer_name and blob[:4] == want:
            if found is not None: raise Refused("malformed_note", "two signatures by the issuer's key")
            found = blob
    if found is None: raise Refused("missing_signature")
    if len(found) != 68 or not verify(issuer_key, txt.encode("utf-8"), found[4:]): raise Refused("bad_signature")
    lines = txt[:-1].split("\n")
    if len(lines) < 3 or not lines[0] or not all(lines[3:]): raise Refused("malformed_checkpoint", "lines")
    size = decimal(lines[1], 2**64 - 1)
    try:
        root = b64d(lines[2])
    except ValueError:
        root = b""
    if len(root) != 32: raise Refused("malformed_checkpoint", "root")
    if lines[0] != "accord/v1/list/" + list_text(lid): raise Refused("wrong_list")
    if len(lines) != 4 or not lines[3].startswith("time "):
        raise Refused("malformed_checkpoint", "expected one extension line `time MILLIS`")
    time = decimal(lines[3][5:], 2**53 - 1)
    if size == 0 and root != sha256(b""): raise Refused("malformed_checkpoint", "size 0 needs the empty root")
    return dict(size=size, root=root, time=time, text=txt)

def verify_equivocation(j):  # blocklists.md §6.3.
    f = fields(j, [], ["list", "a", "b", "path"], defaults=("path",))
    lid = list_id(f["list"])
    a, b = verify_checkpoint(f["a"], lid), verify_checkpoint(f["b"], lid)
    path = [hash_hex(h, []) for h in f["path"] or []]  # either case: not a body
    if a["size"] == b["size"]:
        if path: raise Refused("proof_range", "same-size proofs carry no path")
        if a["root"] == b["root"]: raise Refused("not_equivocation")
        return
    small, large = (a, b) if a["size"] < b["size"] else (b, a)
    if small["size"] == 0: raise Refused("not_equivocation")
    fr, sr = consistency_roots(small["size"], large["size"], path)
    if sr != large["root"]: raise Refused("proof_mismatch")
    if fr == small["root"]: raise Refused("not_equivocation")

def verify_report(j):  # reports.md §3-§4; returns the report, its id and the accused accounts.
    report, body = verify_envelope(j, "report")
    events = []
    for index, (author, origin) in enumerate(report["evidence"] + report["context"]):
        try:  # one by one, never as a batch (reports.md §3 step 2)
            events.append(verify_event_parts(author, origin))
        except Refused as e:
            raise Refused("forged_evidence", f"event {index}: {e}")
    evidence, subject = events[: len(report["evidence"])], report["subject"]
    if subject is not None and evidence and all(e["body"]["author"] != subject for e in evidence):
        raise Refused("subject_mismatch")
    accused = [subject] if subject is not None else sorted({e["body"]["author"] for e in evidence})
    return report, sha256(body), accused

# ------------------------------------------ federation messages (federation.md §3)

FED_REQUESTS = {"identities": ["accounts"], "push": ["room", "events", "identities"], "sync": ["room", "held"],
                "events": ["room", "ids"], "join": ["room", "joiner", "after"],
                "list_entries": ["list", "from", "limit"], "manifest": [], "lists": []}
FED_RESPONSES = {"identities": ["identities"], "pushed": ["outcomes"], "events": ["events", "identities", "more", "next"],
                 "list_entries": ["checkpoint", "entries"], "manifest": ["manifest"], "lists": ["lists"],
                 "error": ["code", "message"]}
OUTCOMES = {"accepted": ["event"], "duplicate": ["event"], "retry": ["event", "code"], "refused": ["event", "code"]}
RETRY_CODES = ("missing_prev", "busy", "internal")  # federation.md §3.2
REFUSED_CODES = ("bad_request", "too_large", "bad_signature", "malformed", "non_canonical", "signer_mismatch", "invalid",
                 "inconsistent_event", "wrong_room", "unknown_room", "not_home", "unknown_author", "not_origin",
                 "equivocation", "bad_depth", "not_in_room", "blocked")  # federation.md §4
ERROR_CODES = ("too_many", "busy", "unsupported", "internal", "unknown_room", "forbidden", "not_home", "blocked",
               "policy", "unknown_list", "bad_request", "too_large", "bad_signature", "malformed", "non_canonical",
               "signer_mismatch", "invalid", "attestation_mismatch")  # federation.md §3.8; the last seven for a
                                                                       # joiner's pair that does not verify
MAX_LIST_ENTRIES = 4096  # federation.md §3: entries of a list_entries answer

def array(v, limit):  # a message array; over its count limit: too_many (federation.md §3)
    if not isinstance(v, list): raise ValueError("expected an array")
    if len(v) > limit: raise Refused("too_many", f"more than {limit}")
    return v

def p_pair(j):  # federation.md §3.1 (a carrier): parsed only, verified by verify_pair
    f = fields(j, [], ["identity", "attestation"])
    p_signed_bytes(f["identity"], [])
    p_signed_bytes(f["attestation"], [])
    return f

def verify_pair(j):  # federation.md §3.1: both envelopes, then the attestation is for the document.
    f = p_pair(j)
    doc, doc_body = verify_envelope(f["identity"], "identity")
    att, _ = verify_envelope(f["attestation"], "attestation")
    if (att["account"], att["identity"], att["node"]) != (doc["account"], sha256(doc_body), doc["home"]):
        raise Refused("attestation_mismatch")
    return doc, att

def wire_event(j):  # an event in a message: parsed here, verified by the checks of federation.md §4
    p_wire_event(j, [])
    return j

def p_message(j, tables, unknown):
    """A message: an object tagged by `type`; strict field set; field order free (a carrier)."""
    kind = j.get("type") if isinstance(j, dict) else None
    if kind not in tables: raise Refused(unknown, f"unknown type {kind!r}")
    try:
        return kind, fields(j, [], ["type"] + tables[kind])
    except (ValueError, Refused) as e:
        raise Refused("bad_request", str(e))

def parse_request(j):  # federation.md §1.2, §3: unknown type -> unsupported, count limits -> too_many
    kind, f = p_message(j, FED_REQUESTS, "unsupported")
    try:
        if kind == "identities": return kind, dict(accounts=[id_text("acct", a, []) for a in array(f["accounts"], 64)])
        if kind == "list_entries":  # §3.9: no count limit; a larger `limit` is served as 4096
            return kind, dict(list=list_id(f["list"]), frm=integer(f["from"]), limit=integer(f["limit"]))
        if kind in ("manifest", "lists"): return kind, {}  # §7.2, §3.12: no field but `type`
        v = dict(room=id_text("room", f["room"], []))
        if kind == "push":
            v["events"] = [wire_event(e) for e in array(f["events"], 64)]
            v["identities"] = [p_pair(p) for p in array(f["identities"], 256)]
        elif kind == "sync":
            if not isinstance(f["held"], dict): raise ValueError("held: not an object")
            if len(f["held"]) > 1024: raise Refused("too_many", "more than 1024 origins")
            v["held"] = {node_id(k): integer(n) for k, n in f["held"].items()}
        elif kind == "events": v["ids"] = [id_text("ev", i, []) for i in array(f["ids"], 64)]
        elif kind == "join": v.update(joiner=p_pair(f["joiner"]), after=integer(f["after"]))
        return kind, v
    except (ValueError, TypeError, AttributeError) as e:
        raise Refused("bad_request", str(e))

def parse_response(j):  # federation.md §3; a requester drops an answer that does not parse
    kind, f = p_message(j, FED_RESPONSES, "bad_request")
    try:
        if kind == "identities": return kind, dict(identities=[p_pair(p) for p in array(f["identities"], 64)])
        if kind == "error": return kind, dict(code=one_of(f["code"], ERROR_CODES), message=text(f["message"], 2**20))
        if kind == "manifest": return kind, dict(manifest=p_signed_bytes(f["manifest"], []))  # §7.2, verified after
        if kind == "lists": return kind, dict(lists=[p_issued(x) for x in array(f["lists"], 1024)])  # §3.12
        if kind == "list_entries":  # §3.9: a signed note and leaf texts
            if not isinstance(f["checkpoint"], str): raise ValueError("checkpoint: not a string")
            entries = array(f["entries"], MAX_LIST_ENTRIES)
            if not all(isinstance(e, str) for e in entries): raise ValueError("entries: not strings")
            return kind, dict(checkpoint=f["checkpoint"], entries=entries)
        if kind == "pushed":
            outcomes = []
            for o in array(f["outcomes"], 64):
                status = o.get("status") if isinstance(o, dict) else None
                if status not in OUTCOMES: raise ValueError(f"unknown status {status!r}")
                of = fields(o, [], ["status"] + OUTCOMES[status])
                code = of.get("code")
                if code is not None: one_of(code, RETRY_CODES if status == "retry" else REFUSED_CODES)
                outcomes.append((status, id_text("ev", of["event"], []), code))
            return kind, dict(outcomes=outcomes)
        if not isinstance(f["more"], bool): raise ValueError("more: not a boolean")
        return kind, dict(events=[wire_event(e) for e in array(f["events"], 256)],
                          identities=[p_pair(p) for p in array(f["identities"], 256)], more=f["more"],
                          next=integer(f["next"]))
    except (ValueError, TypeError, AttributeError) as e:
        raise Refused("bad_request", str(e))

def p_issued(j):  # federation.md §3.12: one list of a `lists` answer (a carrier), verified by verify_issued
    f = fields(j, [], ["list", "description", "witnesses", "checkpoint"], optional=("description",))
    d, w = f.get("description"), f["witnesses"]
    if d is not None and (not isinstance(d, str) or len(d.encode("utf-8")) > 1024): raise Refused("too_large")
    if not isinstance(w, list) or not all(isinstance(x, str) for x in w): raise ValueError("witnesses: not strings")
    if len(w) > 32: raise Refused("too_large")
    if not isinstance(f["checkpoint"], str): raise ValueError("checkpoint: not a string")
    return dict(list=list_id(f["list"]), description=d, witnesses=w, checkpoint=f["checkpoint"])

def verify_issued(item, node_key):  # federation.md §3.12: issued by the answering node, its checkpoint verifies
    if item["list"][0] != node_key: raise Refused("not_issuer")
    return verify_checkpoint(item["checkpoint"], item["list"])

def check_lists(m, blocklist, seeds, g="federation.json"):  # federation.md §3.12
    req, ans = m["lists"], m["lists_answer"]
    kind, _ = run(g, "lists parses", parse_request, req) or (None, {})
    check_eq(g, "lists: type", (req["type"], kind), ("lists", "lists"))
    check_eq(g, "lists: no field but type", sorted(req), ["type"])
    kind, a = run(g, "lists_answer parses", parse_response, ans) or (None, {})
    check_eq(g, "lists_answer: type", (ans["type"], kind), ("lists", "lists"))
    items, latest = a.get("lists", []), blocklist["checkpoints"][-1]
    check_eq(g, "lists_answer: one list", len(items), 1)
    node9 = public_key(seeds["node"])
    for it in items:
        check_eq(g, "lists_answer: blocklist.json's list", it["list"], list_id(blocklist["list_id"]))
        cp = run(g, "lists_answer: issued by node 9, its checkpoint verifies", verify_issued, it, node9) or {}
        check_eq(g, "lists_answer: blocklist.json's latest checkpoint", it["checkpoint"], latest["note"])
        check_eq(g, "lists_answer: its size", cp.get("size"), latest["size"])
        check_eq(g, "lists_answer: blocklist.json's witness", it["witnesses"], [blocklist["witness"]["verifier_key"]])
        check_refused(g, "lists_answer: a list asked of another node", "not_issuer", verify_issued, it,
                      public_key(seeds["node_b"]))
    if ans.get("lists"):
        check_refused(g, "lists_answer: a description over 1024 bytes", "too_large", p_issued,
                      {**ans["lists"][0], "description": "x" * 1025})
        check_refused(g, "lists_answer: 33 witnesses", "too_large", p_issued,
                      {**ans["lists"][0], "witnesses": ["w"] * 33})

def verify_announcement(j):  # federation.md §1.3: a list announcement whose checkpoint verifies with the issuer key
    if len(reserialise(j)) > 65536: raise Refused("too_large")
    f = fields(j, [], ["list", "checkpoint"])  # a carrier: strict field set, field order free
    lid = list_id(f["list"])
    if not isinstance(f["checkpoint"], str): raise ValueError("checkpoint: not a string")
    return lid, verify_checkpoint(f["checkpoint"], lid)  # blocklists.md §4.3

def apply_range(lid, held, frm, checkpoint, entries):
    """blocklists.md §10.4: the leaves a subscriber holds after a list_entries answer, all or nothing.

    `held` are the leaves held (their tree is the held checkpoint's), `frm` the index asked from, `checkpoint`
    and `entries` the answer's; entries past the checkpoint's size are ignored (§10.3)."""
    cp = verify_checkpoint(checkpoint, lid)  # §4.3
    new = [e.encode("utf-8") for e in entries][: max(cp["size"] - frm, 0)]
    if frm != len(held) or frm + len(new) != cp["size"]: raise Refused("bad_range", "not the missing range")
    for leaf in new:
        try:
            parse_entry(leaf)  # §1.4
        except Refused as e:
            raise Refused("invalid_entry", str(e))
    if mth(held + new) != cp["root"]: raise Refused("bad_range", "not the signed root")
    return held + new

def observe(held, held_cp, cp):
    """blocklists.md §10.2, §10.6: what a verified checkpoint means for a held, trusted list."""
    if cp["size"] > held_cp["size"]: return "behind"
    if mth(held[: cp["size"]]) == cp["root"]: return "known"
    return "equivocation"

def peer_checks(events, pairs, sender, push):
    """federation.md §4 checks 2, 4 and 5 (those that need no stored room): per event, None or the code."""
    homes = {}
    for p in pairs:  # a pair that does not verify is ignored (§3.1)
        try:
            doc, _ = verify_pair(p)
            homes[doc["account"]] = doc["home"]
        except (Refused, ValueError):
            pass
    codes = []
    for e in events:
        try:
            ev = verify_event(e)  # check 2, singly
        except Refused as r:
            codes.append(r.code)
            continue
        home = homes.get(ev["body"]["author"])
        codes.append("unknown_author" if home is None else "not_home" if home != ev["stamp"]["origin"]
                     else "not_origin" if push and ev["stamp"]["origin"] != sender else None)
    return codes

# ------------------------------------------------------------ per-file checks

def check_keys(f, g="keys.json"):
    for k in f["keys"]:
        seed = bytes.fromhex(k["seed"])
        pub = public_key(seed)
        check(g, "seed is 32 equal bytes", len(seed) == 32 and len(set(seed)) == 1)
        check_eq(g, "public key hex", pub.hex(), k["public_key_hex"])
        check_eq(g, "public key base64", b64e(pub), k["public_key_base64"])
        check_eq(g, "account id", acct(pub), k["account_id"])
        check_eq(g, "issuer id", bech32m_encode("iss", pub), k["issuer_id"])
        check_eq(g, "node id", node_text(pub), k["node_id"])
        check_eq(g, "PeerId bytes", (PEER_PREFIX + pub).hex(), k["peer_id_bytes_hex"])
        check_eq(g, "account id decodes", run(g, "decode", id_text, "acct", k["account_id"], []), pub)
        check_eq(g, "node id decodes", run(g, "decode", node_id, k["node_id"]), pub)
    h = f["hash_ids"]
    digest = sha256(h["sha256_of"].encode())
    check_eq(g, "sha256", digest.hex(), h["sha256_hex"])
    check_eq(g, "event id", bech32m_encode("ev", digest), h["event_id"])
    check_eq(g, "room id", bech32m_encode("room", digest), h["room_id"])
    check_eq(g, "room id decodes", run(g, "decode", id_text, "room", h["room_id"], []), digest)
    canonical = {"account": lambda s: acct(id_text("acct", s, [])), "node": lambda s: node_text(node_id(s)),
                 "content": lambda s: content_hash(s).hex()}
    for t in f["target_hashes"]:  # blocklists.md §2: hash of the canonical text form
        check_eq(g, f"target hash {t['kind']}", target_hash(t["kind"], t["text"]).hex(), t["target_hash"])
        check_eq(g, f"target text {t['kind']} is canonical", canonical[t["kind"]](t["text"]), t["text"])
    check_eq(g, "content = SHA-256('spam spam spam')", f["target_hashes"][2]["text"], sha256(b"spam spam spam").hex())

def check_envelopes(f, g="envelopes.json"):
    kind_of = {spec[0]: kind for kind, spec in KINDS.items()}
    for c in f["cases"]:
        seed, body, name = bytes.fromhex(c["seed"]), bytes.fromhex(c["body_hex"]), c["name"]
        check_eq(g, f"{name}: body utf8", body.decode("utf-8"), c["body_utf8"])
        check(g, f"{name}: known domain {c['domain']}", c["domain"] in kind_of)
        signing_input = c["domain"].encode() + b"\0" + body
        check_eq(g, f"{name}: signing input", signing_input.hex(), c["signing_input_hex"])
        sig = sign(seed, signing_input)
        check_eq(g, f"{name}: signature", sig.hex(), c["signature_hex"])
        check_eq(g, f"{name}: body sha256", sha256(body).hex(), c["body_sha256"])
        env = c["envelope"]
        check_eq(g, f"{name}: envelope", (env["signer"], env["body"], env["sig"]),
                 (b64e(public_key(seed)), b64e(body), b64e(sig)))
        run(g, f"{name}: verifies as {c['domain']}", verify_envelope, env, kind_of.get(c["domain"]))
    r, s = f["rotation"], f["rotation"]["signed"]
    old, new = bytes.fromhex(r["old_seed"]), bytes.fromhex(r["new_seed"])
    signing_input = ROTATION_TAG.encode() + b"\0" + b64d(s["body"])
    check_eq(g, "rotation domain", r["domain"], ROTATION_TAG)
    check_eq(g, "rotation keys", (s["old"], s["new"]), (b64e(public_key(old)), b64e(public_key(new))))
    check_eq(g, "rotation old_sig", s["old_sig"], b64e(sign(old, signing_input)))
    check_eq(g, "rotation new_sig", s["new_sig"], b64e(sign(new, signing_input)))
    v = run(g, "rotation verifies", verify_rotation, s)
    check_eq(g, "rotation statement", v and (v["old"], v["new"]), (public_key(old), public_key(new)))

def check_room(f, g="room.json"):
    node, events = public_key(bytes.fromhex(f["node_seed"])), []
    for e in f["events"]:
        ev = run(g, f"event {e['id'][:12]} verifies", verify_event, e["event"])
        if ev:
            check_eq(g, "event id", bech32m_encode("ev", ev["id"]), e["id"])
            check_eq(g, "stamped by the node", ev["stamp"]["origin"], node)
            events.append(ev)
    room = id_text("room", f["room_id"], [])
    order, state = resolve(room, events)
    check_eq(g, "order length", len(order), len(f["order"]))
    for (eid, verdict), want in zip(order, f["order"]):
        check_eq(g, "order id", bech32m_encode("ev", eid), want["id"])
        check_eq(g, f"verdict {want['id'][:12]}", (verdict is None, verdict), (want["accepted"], want["reason"]))
    st = f["state"]  # accounts sorted by key bytes
    check_eq(g, "members", [acct(a) for a in sorted(state.members)], st["members"])
    check_eq(g, "bans", [acct(a) for a in sorted(state.bans)], st["bans"])
    check_eq(g, "roles", [[acct(a), state.roles[a]] for a in sorted(state.roles)], st["roles"])
    check_eq(g, "history hash", state.history.hex(), st["history_hash"])
    check_eq(g, "accepted count", state.accepted, st["accepted"])
    return events, room

def check_merkle(f, g="merkle.json"):
    leaves = [bytes.fromhex(x) for x in f["leaves_hex"]]
    check_eq(g, "empty root", mth([]).hex(), f["empty_root"])
    check_eq(g, "roots of 1..8 leaves", [r["size"] for r in f["roots"]], list(range(1, len(leaves) + 1)))
    for r in f["roots"]:
        check_eq(g, f"root of {r['size']}", mth(leaves[: r["size"]]).hex(), r["root"])
    for c in f["inclusion"]:
        i, n, proof = c["index"], c["size"], [bytes.fromhex(x) for x in c["proof"]]
        check_eq(g, "leaf hash", leaf_hash(leaves[i]).hex(), c["leaf_hash"])
        check_eq(g, "inclusion root", mth(leaves[:n]).hex(), c["root"])
        check_eq(g, f"inclusion proof {i} of {n}", proof, inclusion_path(i, leaves[:n]))
        run(g, f"inclusion {i} of {n} verifies", verify_inclusion, leaf_hash(leaves[i]), i, n, proof,
            bytes.fromhex(c["root"]))
    for c in f["consistency"]:
        m, n, proof = c["old"], c["new"], [bytes.fromhex(x) for x in c["proof"]]
        check_eq(g, "old root", mth(leaves[:m]).hex(), c["old_root"])
        check_eq(g, "new root", mth(leaves[:n]).hex(), c["new_root"])
        check_eq(g, f"consistency proof {m}->{n}", proof, consistency_proof(m, leaves[:n]))
        run(g, f"consistency {m}->{n} verifies", verify_consistency, m, n, bytes.fromhex(c["old_root"]),
            bytes.fromhex(c["new_root"]), proof)

def check_blocklist(f, g="blocklist.json"):
    seed, lid = bytes.fromhex(f["issuer_seed"]), list_id(f["list_id"])
    name = bech32m_encode("iss", lid[0])
    check_eq(g, "issuer key", lid[0], public_key(seed))
    check_eq(g, "list id is canonical", list_text(lid), f["list_id"])
    check_eq(g, "origin", "accord/v1/list/" + list_text(lid), f["origin"])
    check_eq(g, "key id", note_key_id(name, lid[0]).hex(), f["key_id_hex"])
    vkey = name + "+" + note_key_id(name, lid[0]).hex() + "+" + base64.b64encode(bytes([1]) + lid[0]).decode()
    check_eq(g, "verifier key (C2SP vkey)", vkey, f["verifier_key"])
    leaves = [e["json"].encode("utf-8") for e in f["entries"]]
    for e, raw in zip(f["entries"], leaves):
        run(g, "entry parses and is canonical", parse_entry, raw)
        check_eq(g, "leaf hash", leaf_hash(raw).hex(), e["leaf_hash"])
    # what blocklists.md §1.4 says the entries hold
    check_eq(g, "leaf 0 evidence = SHA-256('report')", json.loads(leaves[0])["evidence"], sha256(b"report").hex())
    check_eq(g, "leaf 1 hashes bob's account", json.loads(leaves[1])["target"]["hash"],
             target_hash("account", acct(public_key(b"\2" * 32))).hex())
    check_eq(g, "leaf 2 content = SHA-256('buy pills here')", json.loads(leaves[2])["target"]["id"],
             sha256(b"buy pills here").hex())
    check_eq(g, "leaf 3 retracts leaf 1", json.loads(leaves[3])["entry"], 1)
    roots = []
    for cp in f["checkpoints"]:
        v = run(g, f"checkpoint {cp['size']} verifies", verify_checkpoint, cp["note"], lid)
        if v:
            check_eq(g, "checkpoint size", v["size"], cp["size"])
            check_eq(g, "checkpoint root", v["root"], mth(leaves[: v["size"]]))
            check_eq(g, "checkpoint text", checkpoint_text(lid, v["size"], v["root"], v["time"]), cp["text"])
            check_eq(g, "signed note", sign_note(cp["text"], name, seed), cp["note"])
            roots.append(v["root"])
    proof = [bytes.fromhex(x) for x in f["consistency_3_4"]]
    check_eq(g, "consistency 3->4 proof", proof, consistency_proof(3, leaves[:4]))
    run(g, "consistency 3->4 verifies", verify_consistency, 3, 4, roots[0], roots[1], proof)
    inclusion = [bytes.fromhex(x) for x in f["inclusion_0_of_4"]]
    check_eq(g, "inclusion 0 of 4 proof", inclusion, inclusion_path(0, leaves[:4]))
    run(g, "inclusion 0 of 4 verifies", verify_inclusion, leaf_hash(leaves[0]), 0, 4, inclusion, roots[1])
    check_witness(f["witness"], f["checkpoints"][1], proof, g)
    check_pdq(f["pdq"], g)
    return lid, leaves, seed

def check_witness(w, cp, proof, g):  # blocklists.md §13: a witness's key, cosignature and add-checkpoint request
    node_key, key = public_key(bytes.fromhex(w["node_seed"])), public_key(bytes.fromhex(w["seed"]))
    name = "accord/v1/witness/" + node_text(node_key)
    check_eq(g, "witness name", name, w["name"])
    key_id = sha256(name.encode() + b"\n" + bytes([4]) + key)[:4]
    check_eq(g, "witness key id (type 0x04)", key_id.hex(), w["key_id_hex"])
    check_eq(g, "witness verifier key", name + "+" + key_id.hex() + "+" + b64e(bytes([4]) + key), w["verifier_key"])
    message = ("cosignature/v1\ntime %d\n" % w["time"]).encode() + cp["text"].encode()
    check_eq(g, "cosigned message", message.decode(), w["message"])
    blob = key_id + w["time"].to_bytes(8, "big") + sign(bytes.fromhex(w["seed"]), message)
    check_eq(g, "cosignature line", "\u2014 " + name + " " + b64e(blob) + "\n", w["cosignature"])
    check(g, "the cosignature verifies", verify(key, message, b64d(w["cosignature"].split(" ")[2].strip())[12:]))
    body = "old 3\n" + "".join(b64e(h) + "\n" for h in proof) + "\n" + cp["note"]
    check_eq(g, "add-checkpoint request 3 -> 4", body, w["request"])

def pdq_distance(a, b):  # blocklists.md §2.1: Hamming distance of two 256-bit hashes
    return bin(int.from_bytes(bytes.fromhex(a), "big") ^ int.from_bytes(bytes.fromhex(b), "big")).count("1")

def check_pdq(f, g):
    raw = f["entry"]["json"].encode("utf-8")
    entry = run(g, "pdq entry parses and is canonical", parse_entry, raw)
    check_eq(g, "pdq leaf hash", leaf_hash(raw).hex(), f["entry"]["leaf_hash"])
    pdq_hex = json.loads(raw)["target"]["hash"]
    if entry:
        check_eq(g, "pdq entry's index key", entry["target"], ("pdq", target_hash("pdq", pdq_hex)))
    check_eq(g, "pdq entry names the first pair's hash", pdq_hex, f["distances"][0]["a"])
    for d in f["distances"]:
        for side in ("a", "b"):
            check_eq(g, "pdq hash is 64 lowercase hex digits", len(d[side]) == 64 and d[side] == d[side].lower()
                     and all(c in "0123456789abcdef" for c in d[side]), True)
        check_eq(g, "pdq distance", pdq_distance(d["a"], d["b"]), d["distance"])
    hashed = raw.replace(b'{"type":"pdq","hash":', b'{"type":"hashed","kind":"pdq","hash":')
    check_refused(g, "a hashed pdq target", "invalid_entry", parse_entry, hashed)
    check_refused(g, "an uppercase pdq hash", "invalid_entry", parse_entry, raw.replace(pdq_hex.encode(), pdq_hex.upper().encode()))

def check_names(f, g="names.json"):  # names.md, blocklists.md §2.2
    for p in f["patterns"]:
        check_eq(g, f"patterns of {p['name']}", name_patterns(dns_name(p["name"])), p["patterns"])
    for bad in ("localhost", "Example.org", "a..b", "1.2.3.4", "example.org.", "-a.org"):
        check_refused(g, f"{bad!r} is not a DNS name", "invalid_entry", parse_entry,
                      ('{"op":"add","created":1,"target":{"type":"domain","name":"%s"},"category":"spam","action":"reject"}'
                       % bad).encode())
    for e in f["entries"]:
        raw = e["json"].encode("utf-8")
        entry = run(g, "domain entry parses and is canonical", parse_entry, raw)
        check_eq(g, "domain leaf hash", leaf_hash(raw).hex(), e["leaf_hash"])
        pattern = json.loads(raw)["target"]["name"]
        check_eq(g, "domain target hash", target_hash("domain", pattern).hex(), e["target_hash"])
        if entry: check_eq(g, "domain entry's index key", entry["target"], ("domain", bytes.fromhex(e["target_hash"])))
        check_eq(g, "hashed domain target", json.loads(e["hashed_target"]),
                 {"type": "hashed", "kind": "domain", "hash": e["target_hash"]})
    p = f["proof"]
    node, now = node_id(p["node"], []), p["checked_at"]
    v = run(g, "name proof verifies for its node and name", check_name_claim, p["document"].encode(), node, p["name"], now)
    check_eq(g, "name proof names", v and (v["name"], v["node"]), (p["name"], node))
    check_eq(g, "name proof is its envelope case", json.loads(p["document"]), p["case"]["envelope"])
    check_eq(g, "name proof domain", p["case"]["domain"], "accord/v1/node-name")
    check_refused(g, "name proof for another name", "wrong_name", check_name_claim, p["document"].encode(), node,
                  "other.example.org", now)
    check_refused(g, "name proof after it expires", "expired", check_name_claim, p["document"].encode(), node, p["name"],
                  v["expires"] if v else 0)
    for r in f["refused"]:
        check_refused(g, f"name proof {r['what']}", r["code"], check_name_claim, r["document"].encode(), node, p["name"], now)

def check_equivocation(f, blocklist, g="equivocation.json"):
    lid, leaves, seed = blocklist
    name = bech32m_encode("iss", lid[0])
    cps = {}
    for key in ("same_size", "fork"):
        run(g, f"{key} proves equivocation", verify_equivocation, f[key])
        check_eq(g, f"{key}: list", f[key]["list"], list_text(lid))
        for side in ("a", "b"):  # every note re-signs identically
            cps[key, side] = cp = verify_checkpoint(f[key][side], lid)
            check_eq(g, f"{key}.{side}: note", sign_note(cp["text"], name, seed), f[key][side])
    # same_size: the real size-4 log against one whose 4th leaf is another `remove`
    other = b'{"op":"remove","created":1764000013000,"entry":0}'
    run(g, "same_size: the other 4th leaf is a valid entry", parse_entry, other)
    a, b = cps["same_size", "a"], cps["same_size", "b"]
    check_eq(g, "same_size: sizes and roots", (a["size"], b["size"], a["root"], b["root"]),
             (4, 4, mth(leaves), mth(leaves[:3] + [other])))
    check_eq(g, "same_size: empty path", f["same_size"]["path"], [])
    # fork: the real size-3 checkpoint against a log of the entries 0, 1, 3, 2, 3
    fork, path = [leaves[i] for i in (0, 1, 3, 2, 3)], [bytes.fromhex(h) for h in f["fork"]["path"]]
    a, b = cps["fork", "a"], cps["fork", "b"]
    check_eq(g, "fork: sizes and roots", (a["size"], b["size"], a["root"], b["root"]),
             (3, 5, mth(leaves[:3]), mth(fork)))
    check_eq(g, "fork: path = consistency proof 3->5 of the fork", path, consistency_proof(3, fork))
    check_eq(g, "fork: implied roots", consistency_roots(3, 5, path), (mth(fork[:3]), mth(fork)))
    check_eq(g, "fork: implied old root", b64e(mth(fork[:3])), "O0DQDE4wVpfmXEKs2W0QHLx2WtpJ++1jOiamfadbLW4=")

def check_report(f, room_wire, g="report.json"):
    seed, signed = bytes.fromhex(f["reporter_seed"]), f["signed"]
    body = b64d(signed["body"])
    check_eq(g, "reporter key", signed["signer"], b64e(public_key(seed)))
    check_eq(g, "report signature", signed["sig"], b64e(sign(seed, b"accord/v1/report\0" + body)))
    result = run(g, "report verifies", verify_report, signed)
    if result:
        report, rid, accused = result
        check_eq(g, "report id", rid.hex(), f["report_id"])
        check_eq(g, "accused", [acct(a) for a in accused], f["accused"])
        check_eq(g, "reporter", report["reporter"], public_key(seed))
    # reports.md §6: carol's message as evidence, alice's "hello, room" as context, verbatim
    wire = json.loads(body)
    by_id = {e["id"]: e["event"] for e in room_wire}
    check_eq(g, "evidence copied from room.json", wire["evidence"],
             [by_id["ev100q02yunten7hv9kfredq6d20y5fcdmhhtgp7yxdk327h43lh8ts3x02p5"]])
    check_eq(g, "context copied from room.json", wire["context"],
             [by_id["ev1dcsqqvq2j2d6kfsng6efpkc9nyaercgugajxvys2w7n2kg5l878qwtecya"]])

def audit_outcome(j):  # reports.md §10: the checks of an export in order, as a `tampered` case's fields
    f = fields(j, [], ["head", "actions"])
    try:
        head, _ = verify_envelope(f["head"], "audit_head")
    except Refused as e:
        return dict(code="bad_head", detail=e.code)
    bodies = []
    for i, a in enumerate(f["actions"]):
        try:
            action, body = verify_envelope(a, "mod_action")
        except Refused as e:
            return dict(code="bad_action", index=i, detail=e.code)
        if action["node"] != head["node"]: return dict(code="wrong_node", index=i)
        bodies.append(body)
    if len(bodies) != head["size"] or mth(bodies) != head["root"]:
        return dict(code="root_mismatch", size=len(bodies), root=mth(bodies).hex())
    return dict(code="accepted")

def check_audit(f, report, g="audit.json"):  # reports.md §9, §10, §14
    seeds = [bytes.fromhex(f[k]) for k in ("node_seed", "moderator_seed", "other_node_seed")]
    check_eq(g, "seeds 05…05, 06…06 and room.json's node 09…09", seeds, [b"\5" * 32, b"\6" * 32, b"\x09" * 32])
    node_seed, mod_seed, other_seed = seeds
    node, mod, other = (public_key(x) for x in seeds)
    lid = (node, "abuse")
    check_eq(g, "node id", node_text(node), f["node_id"])
    check_eq(g, "moderator account", acct(mod), f["moderator_account"])
    check_eq(g, "list id: the node's list `abuse`", list_text(lid), f["list_id"])
    check_eq(g, "the blocked case is report.json's report id", f["report_case"], report["report_id"])
    check_eq(g, "other case = SHA-256(other_case_sha256_of)", sha256(f["other_case_sha256_of"].encode()).hex(),
             f["other_case"])

    def action_body(node_key, case, verb, lst, reason, ts, expires=None):  # the §9 field order, optionals omitted
        obj = dict(node=node_text(node_key), moderator=acct(mod), case=case, action=verb)
        if lst is not None: obj["list"] = list_text(lst)
        if reason is not None: obj["reason"] = reason
        if expires is not None: obj["expires"] = expires
        obj["ts"] = ts
        return reserialise(obj)

    # The two actions: the reasons and times are the vector's choice, the rest is §14's.
    free = [json.loads(a["body_utf8"]) for a in f["actions"]]
    free = [(x.get("reason"), x.get("ts")) for x in free]
    want = [(f["report_case"], "block", lid), (f["other_case"], "dismiss", None)]
    check_eq(g, "two actions", len(f["actions"]), 2)
    bodies = []
    for i, (a, (case, verb, lst), (reason, ts)) in enumerate(zip(f["actions"], want, free)):
        body = a["body_utf8"].encode()
        check_eq(g, f"action {i}: body", body, action_body(node, case, verb, lst, reason, ts))
        env = signed_env(mod_seed, "mod_action", body)
        check_eq(g, f"action {i}: envelope re-signed by the moderator", a["envelope"], env)
        check_eq(g, f"action {i}: body sha256", sha256(body).hex(), a["body_sha256"])
        check_eq(g, f"action {i}: leaf hash", leaf_hash(body).hex(), a["leaf_hash"])
        check_eq(g, f"action {i}: export action {i}", f["export"]["actions"][i], env)
        run(g, f"action {i}: verifies as accord/v1/mod-action", verify_envelope, a["envelope"], "mod_action")
        bodies.append(body)
    check_eq(g, "export holds the two actions", len(f["export"]["actions"]), 2)
    check(g, "actions in time order", free[0][1] < free[1][1])

    # The head over them, signed by the node.
    head_ts = json.loads(f["head"]["body_utf8"])["ts"]
    check(g, "head signed after the actions", head_ts >= free[1][1])
    head_body = reserialise(dict(node=node_text(node), size=2, root=mth(bodies).hex(), ts=head_ts))
    check_eq(g, "head body", f["head"]["body_utf8"].encode(), head_body)
    head_env = signed_env(node_seed, "audit_head", head_body)
    check_eq(g, "head envelope re-signed by the node", f["head"]["envelope"], head_env)
    check_eq(g, "export head", f["export"]["head"], head_env)
    check_eq(g, "size", f["size"], 2)
    check_eq(g, "root", mth(bodies).hex(), f["root"])
    check_eq(g, "root from the leaf hashes", node_hash(*[bytes.fromhex(a["leaf_hash"]) for a in f["actions"]]).hex(),
             f["root"])
    check_eq(g, "export verifies", audit_outcome(f["export"]), dict(code="accepted"))
    check_eq(g, "export fields", list(f["export"]), ["actions", "head"])

    # The tampered exports: each refused with its code, and each is the export with exactly its one defect.
    tampered = {t["code"]: t for t in f["tampered"]}
    check_eq(g, "tampered cases", [t["code"] for t in f["tampered"]],
             ["bad_action", "root_mismatch", "bad_head", "wrong_node"])
    for t in f["tampered"]:
        got = run(g, f"{t['name']}: outcome", audit_outcome, t["export"])
        check_eq(g, f"{t['name']}: refused as the vector says", got,
                 {k: v for k, v in t.items() if k not in ("name", "export")})
    ex = f["export"]
    t = tampered.get("bad_action", {}).get("export", {})
    check_eq(g, "bad_action: head and action 0 unchanged", (t.get("head"), t.get("actions", [None])[0]),
             (ex["head"], ex["actions"][0]))
    altered, original = t.get("actions", [None, {}])[1], ex["actions"][1]
    check_eq(g, "bad_action: action 1's signer and signature kept", (altered["signer"], altered["sig"]),
             (original["signer"], original["sig"]))
    a_body, o_body = json.loads(b64d(altered["body"])), json.loads(b64d(original["body"]))
    check(g, "bad_action: action 1's reason changed, nothing else",
          a_body["reason"] != o_body["reason"] and {**a_body, "reason": None} == {**o_body, "reason": None})
    check_eq(g, "bad_action: the altered body is canonical", b64d(altered["body"]), reserialise(a_body))
    check_eq(g, "root_mismatch: the actions reversed", tampered["root_mismatch"]["export"],
             dict(actions=ex["actions"][::-1], head=ex["head"]))
    t = tampered["bad_head"]["export"]
    check_eq(g, "bad_head: the head body signed by the moderator", t,
             dict(actions=ex["actions"], head=signed_env(mod_seed, "audit_head", head_body)))
    foreign = action_body(other, f["other_case"], "dismiss", None, free[1][0], free[1][1])
    foreign_head = reserialise(dict(node=node_text(node), size=2, root=mth([bodies[0], foreign]).hex(), ts=head_ts))
    check_eq(g, "wrong_node: action 1 names room.json's node, the node's head is over it",
             tampered["wrong_node"]["export"],
             dict(actions=[ex["actions"][0], signed_env(mod_seed, "mod_action", foreign)],
                  head=signed_env(node_seed, "audit_head", foreign_head)))

    # Actions breaking the §9 rules, signed correctly by the moderator.
    (r0, t0), (r1, t1) = free
    invalid = [action_body(node, f["report_case"], "block", None, r0, t0),
               action_body(node, f["report_case"], "suspend", lid, r0, t0),
               action_body(node, f["other_case"], "dismiss", lid, r1, t1)]
    check_eq(g, "three invalid actions", len(f["invalid_actions"]), len(invalid))
    for case, body in zip(f["invalid_actions"], invalid):
        check_eq(g, f"{case['name']}: body", case["body_utf8"].encode(), body)
        check_eq(g, f"{case['name']}: envelope", case["envelope"], signed_env(mod_seed, "mod_action", body))
        check_refused(g, f"{case['name']}: refused", case["code"], verify_envelope, case["envelope"], "mod_action")
        check_eq(g, f"{case['name']}: code", case["code"], "invalid")

    # Further rules of §9 and §10, on variants signed here.
    def outcome(body, seed=mod_seed, kind="mod_action"):
        try:
            verify_envelope(signed_env(seed, kind, body), kind)
            return "accepted"
        except Refused as e:
            return e.code
    variants = [
        ("suspend with expires after ts", "accepted", action_body(node, f["report_case"], "suspend", lid, r0, t0, t0 + 1)),
        ("suspend with expires = ts", "invalid", action_body(node, f["report_case"], "suspend", lid, r0, t0, t0)),
        ("block with expires", "invalid", action_body(node, f["report_case"], "block", lid, r0, t0, t0 + 1)),
        ("block on a list of another issuer", "invalid", action_body(node, f["report_case"], "block", (mod, "abuse"), r0, t0)),
        ("hide on the node's list", "accepted", action_body(node, f["report_case"], "hide", lid, None, t0)),
        ("an unknown action", "malformed", action_body(node, f["report_case"], "ban", lid, r0, t0)),
        ("fields out of order", "non_canonical", reserialise(dict(reversed(list(json.loads(bodies[0]).items()))))),
        ("reason over 1024 bytes", "malformed", action_body(node, f["other_case"], "dismiss", None, "x" * 1025, t1)),
        ("over 4096 bytes", "too_large", bodies[1] + b" " * (4097 - len(bodies[1]))),
    ]
    for what, code, body in variants:
        check_eq(g, f"variant {what}", outcome(body), code)
    own = reserialise({**json.loads(bodies[1]), "moderator": node_text(node)})
    check_eq(g, "variant: the node as its own moderator", outcome(own, node_seed), "accepted")
    check_eq(g, "variant: the node signing an action of the moderator account", outcome(bodies[1], node_seed),
             "signer_mismatch")
    check_eq(g, "variant: a mod-action signature is not an audit-head one", outcome(bodies[1], mod_seed, "audit_head"),
             "malformed")
    check_eq(g, "variant: head signed in the wrong domain",
             audit_outcome(dict(head=dict(f["export"]["head"], sig=signed_env(node_seed, "mod_action", head_body)["sig"]),
                                actions=ex["actions"])), dict(code="bad_head", detail="bad_signature"))
    check_eq(g, "variant: an action removed", audit_outcome(dict(head=ex["head"], actions=ex["actions"][:1])),
             dict(code="root_mismatch", size=1, root=mth(bodies[:1]).hex()))
    check_eq(g, "variant: an action added", audit_outcome(dict(head=ex["head"], actions=ex["actions"] * 2)),
             dict(code="root_mismatch", size=4, root=mth(bodies * 2).hex()))

# ------------------------------------------- strictness: what must be refused

def signed_env(seed, kind, body):
    sig = sign(seed, KINDS[kind][0].encode() + b"\0" + body)
    return dict(signer=b64e(public_key(seed)), body=b64e(body), sig=b64e(sig))

def refused_key(y):
    if point_decompress(y.to_bytes(32, "little")) is None or small_order(point_decompress(y.to_bytes(32, "little"))):
        raise Refused("refused")

def check_strictness(vectors, room_events, room, blocklist, g="strictness"):
    alice, node = b"\1" * 32, b"\x09" * 32
    cases, wire = vectors["envelopes.json"]["cases"], {w["id"]: w["event"] for w in vectors["room.json"]["events"]}

    def refuse(what, code, body, seed=alice, kind="identity"):  # signed correctly, then encoding.md §2.6
        if not isinstance(body, str):
            body = reserialise(body).decode()
        check_refused(g, what, code, verify_envelope, signed_env(seed, kind, body.encode()), kind)

    doc, j = cases[0]["body_utf8"], json.loads(cases[0]["body_utf8"])  # the identity document
    refuse("the identity document", "accepted", doc)
    refuse("final newline", "non_canonical", doc + "\n")
    refuse("whitespace", "non_canonical", doc.replace(",", ", ", 1))
    refuse("field order", "non_canonical", dict(reversed(list(j.items()))))
    refuse("needless escape", "non_canonical", doc.replace("alice@", "\\u0061lice@"))
    refuse("positional array", "non_canonical", list(j.values()))
    refuse("float for an integer", "malformed", doc.replace("}", ".0}"))
    padded = "acct132yw8ht5p8cetl2jmvknewjawt9xwzdlrk2pyxlnwjyqrdq0dawpff90ad"  # identities.md §1.1
    check_eq(g, "non-zero padding decodes to the same key", bech32m_decode("acct", padded), public_key(alice))
    refuse("id with non-zero padding bits", "non_canonical", doc.replace(j["account"], padded))
    att, digest = cases[1]["body_utf8"], json.loads(cases[1]["body_utf8"])["identity"]
    refuse("uppercase hex digest", "non_canonical", att.replace(digest, digest.upper()), node, "attestation")
    hello = "ev1dcsqqvq2j2d6kfsng6efpkc9nyaercgugajxvys2w7n2kg5l878qwtecya"  # alice: "hello, room"
    ev = json.loads(b64d(wire[hello]["author"]["body"]))
    for what, content in (("optional field as null", {**ev["content"], "reply_to": None}),
                          ("type after the fields", {"text": "hi", "type": "message"})):
        refuse(what, "non_canonical", {**ev, "content": content}, alice, "event")
    # attachments (events.md §2.3): the case "event body (message with attachments)" of envelopes.json
    photo = next(json.loads(c["body_utf8"]) for c in cases if c["name"] == "event body (message with attachments)")
    refuse("the message with attachments", "accepted", photo, alice, "event")
    jpeg, pdf = photo["content"]["attachments"]
    with_atts = lambda atts, text=photo["content"]["text"]: {**photo, "content": {"type": "message", "text": text,
                                                                                   "attachments": atts}}
    refuse("attachments only, empty text", "accepted", with_atts([jpeg], ""), alice, "event")
    refuse("empty text and no attachment", "invalid", {**photo, "content": {"type": "message", "text": ""}}, alice,
           "event")
    refuse("empty attachments written", "non_canonical", with_atts([]), alice, "event")
    refuse("image without dimensions", "invalid", with_atts([{k: jpeg[k] for k in ("hash", "size", "type")}]),
           alice, "event")
    refuse("dimensions on a pdf", "invalid", with_atts([{**pdf, "width": 1, "height": 1}]), alice, "event")
    refuse("an attachment twice", "invalid", with_atts([jpeg, jpeg]), alice, "event")
    refuse("empty attachment", "invalid", with_atts([{**pdf, "size": 0}]), alice, "event")
    refuse("unknown media type", "malformed", with_atts([{**pdf, "type": "text/html"}]), alice, "event")
    refuse("attachment fields out of order", "non_canonical", with_atts([dict(reversed(list(pdf.items())))]),
           alice, "event")
    refuse("uppercase attachment hash", "non_canonical", with_atts([{**pdf, "hash": pdf["hash"].upper()}]),
           alice, "event")
    rep = dict(reporter=acct(public_key(alice)), category="spam", subject=acct(public_key(b"\3" * 32)))
    refuse("report without evidence", "non_canonical", {**rep, "ts": 1}, alice, "report")
    refuse("report with empty context", "non_canonical", {**rep, "evidence": [], "context": [], "ts": 1}, alice,
           "report")
    entry = blocklist[1][1].decode()
    check_refused(g, "entry with uppercase hash", "invalid_entry", parse_entry, entry.replace("a9b7", "A9B7").encode())
    check_refused(g, "entry as positional array", "invalid_entry", parse_entry, b'["remove",1764000013000,1]')
    # keys (encoding.md §2.4, §8.2): y = p+3 is not canonical; y = 3 is of mixed order
    check_refused(g, "non-canonical key y = p+3", "refused", refused_key, P + 3)
    check_refused(g, "mixed-order key y = 3 is accepted", "accepted", refused_key, 3)
    # checkpoints (blocklists.md §4.3) and equivocation proofs (§6.3)
    lid, leaves, seed = blocklist
    name = bech32m_encode("iss", lid[0])
    note = sign_note(checkpoint_text(lid, 3, mth(leaves[:3]), 5), name, seed)
    check_refused(g, "CR in the signature lines", "malformed_note", verify_checkpoint, note[:-1] + "\r\n", lid)
    check_refused(g, "two issuer lines", "malformed_note", verify_checkpoint, note + note.split("\n\n")[1], lid)
    check_refused(g, "size 0 with another root", "malformed_checkpoint", verify_checkpoint,
                  sign_note(checkpoint_text(lid, 0, sha256(b"x"), 5), name, seed), lid)
    eq = vectors["equivocation.json"]
    check_refused(g, "same-size proof with a path", "proof_range", verify_equivocation,
                  dict(eq["same_size"], path=eq["fork"]["path"]))
    # room (events.md §4 step 3): carol's message stamped again after the last event counts once
    carol = "ev100q02yunten7hv9kfredq6d20y5fcdmhhtgp7yxdk327h43lh8ts3x02p5"
    last = max(room_events, key=lambda e: e["stamp"]["depth"])
    stamp = dict(event=carol, room=bech32m_encode("room", room), origin=node_text(public_key(node)), seq=99,
                 depth=last["stamp"]["depth"] + 1, prev=[bech32m_encode("ev", last["id"])], received=1)
    again = verify_event(dict(author=wire[carol]["author"], origin=signed_env(node, "origin", reserialise(stamp))))
    order, state = resolve(room, room_events + [again])
    check_eq(g, "an event stamped twice counts once", (len(order), state.history.hex()),
             (len(room_events), vectors["room.json"]["state"]["history_hash"]))
    check_refused(g, "a room without its create", "missing_create", resolve, room,
                  [e for e in room_events if e["id"] != room])
    # policy manifests (federation.md §7.1), signed by node B, the node they name
    node_b = b"\x0b" * 32
    man = next(c for c in cases if c["domain"] == "accord/v1/manifest")
    mj = json.loads(man["body_utf8"])
    declared = mj["lists"][0]
    issuer = declared["list"].split("/")[0]
    named = lambda name: dict(list=f"{issuer}/{name}", size=1)
    def manifest(what, code, lists, seed=node_b, body=None):
        refuse(what, code, body if body is not None else dict(mj, lists=lists), seed, "manifest")
    manifest("node B's manifest", "accepted", mj["lists"])
    manifest("no list declared", "accepted", [])
    manifest("two lists of one issuer, by name", "accepted", [declared, named("spam")])
    manifest("two lists of one issuer, out of order", "invalid", [named("spam"), declared])
    manifest("a list declared twice", "invalid", [declared, declared])
    # Issuer keys 66be… (node B) < fd17… (09…09) as bytes, but iss1v6l8… > iss1l5tj… as text: bytes decide.
    own = dict(list=bech32m_encode("iss", public_key(node_b)) + "/local", size=1)
    check(g, "node B's issuer id sorts after 09…09's as text", own["list"] > declared["list"])
    manifest("lists ordered by issuer key bytes", "accepted", [own, declared])
    manifest("lists ordered by the text of their ids", "invalid", [declared, own])
    manifest("1024 lists", "accepted", [named(f"l{i:04}") for i in range(1024)])
    manifest("1025 lists", "invalid", [named(f"l{i:04}") for i in range(1025)])
    manifest("signed by another node than the one named", "signer_mismatch", mj["lists"], node)
    manifest("fields out of order", "non_canonical", None, body=dict(reversed(list(mj.items()))))
    manifest("a size as a string", "malformed", [dict(declared, size="4")])
    manifest("an unknown field", "malformed", None, body=dict(mj, actions={}))
    manifest("a body over 256 KiB", "too_large", None, body="{" + " " * 262144 + "}")
    check_refused(g, "a manifest signed in another domain", "bad_signature", verify_envelope,
                  dict(signed_env(node_b, "identity", man["body_utf8"].encode())), "manifest")

def check_pair(g, what, pair, account_seed, home_seed):  # verifies, and re-signs both envelopes from the seeds
    doc, att = run(g, f"{what}: pair verifies", verify_pair, pair) or ({}, {})
    check_eq(g, f"{what}: account and home", (doc.get("account"), doc.get("home")),
             (public_key(account_seed), public_key(home_seed)))
    for env, kind, seed in ((pair["identity"], "identity", account_seed), (pair["attestation"], "attestation", home_seed)):
        check_eq(g, f"{what}: {kind} re-signed", env, signed_env(seed, kind, b64d(env["body"])))
    return doc

def causal(events):  # every event comes after those of its prev that are in the same answer (federation.md §3.7)
    ids = [verify_event(e)["id"] for e in events]
    return all(p not in ids[i:] for i, e in enumerate(events) for p in verify_event(e)["stamp"]["prev"])

def check_gossip(f, blocklist, equivocation, g="federation.json"):  # federation.md §1.3
    gs = f["gossip"]
    check_eq(g, "gossip", sorted(gs), ["announcement", "announcement_bad_signature", "equivocation",
                                      "equivocation_topic", "manifests_topic", "topic"])
    check_eq(g, "gossip topic", gs["topic"], "accord/lists/1")
    check_eq(g, "manifests topic", gs["manifests_topic"], "accord/manifests/1")  # §1.3: a manifest envelope
    a, bad, latest = gs["announcement"], gs["announcement_bad_signature"], blocklist["checkpoints"][-1]
    lid, cp = run(g, "announcement verifies", verify_announcement, a) or (None, {})
    check_eq(g, "announcement: blocklist.json's list", a["list"], blocklist["list_id"])
    check_eq(g, "announcement: list id is canonical", lid and list_text(lid), blocklist["list_id"])
    check_eq(g, "announcement: blocklist.json's latest checkpoint", a["checkpoint"], latest["note"])
    check_eq(g, "announcement: size", cp.get("size"), latest["size"])

    def outcome(j):  # "accepted", the code it is refused with, or "unparsable"
        try:
            verify_announcement(j)
            return "accepted"
        except Refused as e:
            return e.code
        except (ValueError, TypeError, AttributeError):
            return "unparsable"
    check_eq(g, "announcement with a changed signature byte", outcome(bad), "bad_signature")
    check_eq(g, "changed signature: the same list", bad["list"], a["list"])

    def last_line(note):  # `— NAME BASE64(key id || signature)`: all before the blob, and the blob
        head, _, blob = note[:-1].rpartition(" ")
        return head, b64d(blob)
    (head, blob), (bad_head, bad_blob) = last_line(a["checkpoint"]), last_line(bad["checkpoint"])
    check_eq(g, "changed signature: the same note up to the signature", bad_head, head)
    changed = [i for i in range(max(len(blob), len(bad_blob))) if blob[i : i + 1] != bad_blob[i : i + 1]]
    check(g, f"changed signature: one byte after the key id differs (bytes {changed})",
          len(changed) == 1 and changed[0] >= 4)
    other = dict(a, list=bech32m_encode("iss", lid[0]) + "/spam") if lid else a
    check_eq(g, "announcement for another list of the issuer", outcome(other), "wrong_list")
    check_eq(g, "announcement with an unknown field", outcome({**a, "extra": 1}), "unparsable")

    # The equivocation topic (§1.3, blocklists.md §10.6): a proof that verifies, at most 64 KiB; here
    # equivocation.json's fork, as the node holding the forked log of size 5 publishes it when it sees the
    # real size-3 checkpoint.
    check_eq(g, "equivocation topic", gs["equivocation_topic"], "accord/equivocation/1")
    proof = gs["equivocation"]
    run(g, "equivocation gossip verifies", verify_equivocation, proof)
    check(g, "equivocation gossip within 64 KiB", len(reserialise(proof)) <= 65536)
    check_eq(g, "equivocation gossip is equivocation.json's fork", proof, equivocation["fork"])
    def gossiped(j):  # "accepted", the code it is refused with, or "unparsable" (the strict field set)
        try:
            verify_equivocation(j)
            return "accepted"
        except Refused as e:
            return e.code
        except (ValueError, TypeError, AttributeError):
            return "unparsable"
    check_eq(g, "equivocation gossip with an unknown field", gossiped({**proof, "extra": 1}), "unparsable")
    check_eq(g, "equivocation gossip of two consistent checkpoints", gossiped({**proof, "b": proof["a"], "path": []}),
             "not_equivocation")
    lid_e = list_id(proof["list"])
    small, large = verify_checkpoint(proof["a"], lid_e), verify_checkpoint(proof["b"], lid_e)
    leaves = [e["json"].encode("utf-8") for e in blocklist["entries"]]
    fork = [leaves[i] for i in (0, 1, 3, 2, 3)]
    check_eq(g, "equivocation: the fork's holder sees the smaller checkpoint as equivocation",
             observe(fork, large, small), "equivocation")
    check_eq(g, "equivocation: its path is the fork's consistency proof 3->5",
             [bytes.fromhex(h) for h in proof["path"]], consistency_proof(small["size"], fork))

def meets(manifest, required, ours):
    """federation.md §7.3: None if a peer whose verified manifest is `manifest` meets `required` (a list of
    (list id, max_lag)), else why; `ours` maps a list id to this node's held size (0 if not held)."""
    if not required: return None
    if manifest is None: return "no manifest"
    declared = dict(manifest["lists"])
    for lid, max_lag in required:
        if lid not in declared: return "not declared"
        if declared[lid] + max_lag < ours.get(lid, 0): return "behind"
    return None

def is_evidence(manifest, provenance_list, provenance_entry):
    """federation.md §7.4: a pushed event refused by entry `provenance_entry` (a reject entry) of list
    `provenance_list` is evidence against the pusher when its manifest declares the list with a larger size."""
    size = dict(manifest["lists"]).get(provenance_list)
    return size is not None and provenance_entry < size

def check_manifest(m, envelopes, blocklist, seeds, g="federation.json"):  # federation.md §7
    req, ans = m["manifest"], m["manifest_answer"]
    kind, _ = run(g, "manifest parses", parse_request, req) or (None, {})
    check_eq(g, "manifest: type", (req["type"], kind), ("manifest", "manifest"))
    check_eq(g, "manifest: no field but type", sorted(req), ["type"])
    kind, a = run(g, "manifest_answer parses", parse_response, ans) or (None, {})
    check_eq(g, "manifest_answer: type", (ans["type"], kind), ("manifest", "manifest"))
    env = ans["manifest"]
    v, body = run(g, "manifest_answer: verifies as a policy manifest", verify_envelope, env, "manifest") or ({}, b"")
    check_eq(g, "manifest_answer: names node B", v.get("node"), public_key(seeds["node_b"]))
    check_eq(g, "manifest_answer: re-signed by node B", env, signed_env(seeds["node_b"], "manifest", body))
    lid, latest = list_id(blocklist["list_id"]), blocklist["checkpoints"][-1]
    check_eq(g, "manifest_answer: declares blocklist.json's list with its latest size", v.get("lists"),
             [(lid, latest["size"])])
    case = next((c for c in envelopes["cases"] if c["domain"] == "accord/v1/manifest"), {})
    check_eq(g, "manifest_answer: the envelope of envelopes.json's policy manifest", env, case.get("envelope"))
    check(g, "manifest: fits a gossip message (64 KiB)", len(reserialise(env)) <= 65536)
    if not v: return
    # require_lists (§7.3) against node B's manifest, for a node holding `ours` entries of the list.
    other = (lid[0], "spam")
    for required, ours, want in (([], {}, None), ([(lid, 0)], {lid: 4}, None), ([(lid, 0)], {lid: 3}, None),
                                 ([(lid, 0)], {lid: 5}, "behind"), ([(lid, 1)], {lid: 5}, None),
                                 ([(lid, 1)], {lid: 6}, "behind"), ([(lid, 0), (other, 0)], {lid: 4}, "not declared")):
        check_eq(g, f"require_lists {[(list_text(l), n) for l, n in required]}, held {list(ours.values())}",
                 meets(v, required, ours), want)
    check_eq(g, "require_lists without the peer's manifest", meets(None, [(lid, 0)], {}), "no manifest")
    # Evidence (§7.4): node B declares 4 entries, so a pushed event refused by entry 0 (carol, drugs, reject) is
    # evidence against it; by an entry it does not declare holding, or of another list, it is not.
    check_eq(g, "evidence: entry 0 of the declared list", is_evidence(v, lid, 0), True)
    check_eq(g, "evidence: entry 4, beyond the declared size", is_evidence(v, lid, 4), False)
    check_eq(g, "evidence: a list not declared", is_evidence(v, other, 0), False)

def check_list_entries(m, blocklist, g="federation.json"):  # federation.md §3.9, blocklists.md §10.3-§10.4
    lid = list_id(blocklist["list_id"])
    leaves = [e["json"].encode("utf-8") for e in blocklist["entries"]]
    first, latest = blocklist["checkpoints"][0], blocklist["checkpoints"][-1]
    req, ans = m["list_entries"], m["list_entries_answer"]
    kind, r = run(g, "list_entries parses", parse_request, req) or (None, {})
    check_eq(g, "list_entries: type", (req["type"], kind), ("list_entries", "list_entries"))
    check_eq(g, "list_entries: blocklist.json's list", r.get("list"), lid)
    # A subscriber holding the entries of blocklist.json's first checkpoint asks from its held size,
    # for as many entries as an answer may hold.
    held = leaves[: first["size"]]
    held_cp = verify_checkpoint(first["note"], lid)
    check_eq(g, "list_entries: from the held size", r.get("frm"), len(held))
    check_eq(g, "list_entries: limit", r.get("limit"), MAX_LIST_ENTRIES)
    kind, a = run(g, "list_entries_answer parses", parse_response, ans) or (None, {})
    check_eq(g, "list_entries_answer: type", (ans["type"], kind), ("list_entries", "list_entries"))
    check_eq(g, "list_entries_answer: blocklist.json's latest checkpoint", ans["checkpoint"], latest["note"])
    cp = run(g, "list_entries_answer: checkpoint verifies", verify_checkpoint, ans["checkpoint"], lid) or {}
    check_eq(g, "list_entries_answer: the announced checkpoint is ahead", observe(held, held_cp, cp), "behind")
    after = run(g, "list_entries_answer: held + answered leaves make the signed root", apply_range, lid, held,
                r.get("frm"), ans["checkpoint"], ans["entries"])
    check_eq(g, "list_entries_answer: the subscriber now holds blocklist.json's log", after, leaves[: cp.get("size")])
    check_eq(g, "list_entries_answer: entries are the exact leaf texts",
             ans["entries"], [e["json"] for e in blocklist["entries"][r.get("frm", 0) : cp.get("size")]])
    # What a subscriber refuses (blocklists.md §10.4): nothing of such a range is applied.
    other = '{"op":"remove","created":1764000013000,"entry":0}'
    check_refused(g, "a range with another valid leaf", "bad_range", apply_range, lid, held, len(held),
                  ans["checkpoint"], [other])
    check_refused(g, "a range missing its leaf", "bad_range", apply_range, lid, held, len(held), ans["checkpoint"], [])
    check_refused(g, "a range asked from another index", "bad_range", apply_range, lid, held[:2], 2,
                  ans["checkpoint"], ans["entries"])
    check_refused(g, "a range with a leaf that is no entry", "invalid_entry", apply_range, lid, held, len(held),
                  ans["checkpoint"], ['{"op":"block"}'])
    check_refused(g, "a range under another list's checkpoint", "wrong_list", apply_range,
                  (lid[0], "spam"), held, len(held), ans["checkpoint"], ans["entries"])
    check_eq(g, "entries past the checkpoint are ignored",
             apply_range(lid, held, len(held), ans["checkpoint"], ans["entries"] + [other]), leaves)
    check_refused(g, "4097 entries in an answer", "too_many", parse_response,
                  {**ans, "entries": ans["entries"] * (MAX_LIST_ENTRIES + 1)})
    check_eq(g, "a checkpoint the subscriber already holds", observe(held, held_cp, held_cp), "known")

def check_federation(f, envelopes, room_file, blocklist, equivocation, g="federation.json"):  # federation.md §1.3, §3
    check_eq(g, "protocol", f["protocol"], "/accord/federation/1")
    texts = {k: f[k] for k in ("request", "response", "error")}
    msgs = {k: json.loads(t) for k, t in texts.items()}
    for k, t in texts.items():  # compact JSON, fields in order
        check_eq(g, f"{k} is compact JSON", json.dumps(msgs[k], separators=(",", ":"), ensure_ascii=False), t)
    req, resp, err = msgs["request"], msgs["response"], msgs["error"]
    check_eq(g, "request fields", list(req), ["type", "accounts"])
    check_eq(g, "request type", req["type"], "identities")
    check(g, "at most 64 accounts", len(req["accounts"]) <= 64)
    asked = [id_text("acct", a, []) for a in req["accounts"]]
    check_eq(g, "response type", resp["type"], "identities")
    for pair in resp["identities"]:
        check_eq(g, "pair fields", list(pair), ["identity", "attestation"])
        doc, doc_body = run(g, "identity verifies", verify_envelope, pair["identity"], "identity")
        att, _ = run(g, "attestation verifies", verify_envelope, pair["attestation"], "attestation")
        check_eq(g, "attestation names the account", att["account"], doc["account"])
        check_eq(g, "attestation names the document", att["identity"], sha256(doc_body))
        check_eq(g, "attestation is by the home node", att["node"], doc["home"])
        check(g, "answers a requested account", doc["account"] in asked)
        check_eq(g, "same document as envelopes.json", pair["identity"], envelopes["cases"][0]["envelope"])
    check_eq(g, "error fields", list(err), ["type", "code", "message"])
    check_eq(g, "error code", (err["type"], err["code"]), ("error", "too_many"))
    for k in ("request", "response", "error"):
        run(g, f"{k} parses", parse_request if k == "request" else parse_response, msgs[k])

    # The push stream (federation.md §1.2a): frames of a 4-byte big-endian
    # length, at least 1 and at most the request or answer limit, then the bytes.
    ps = f["push_stream"]
    check_eq(g, "push stream protocol", ps["protocol"], "/accord/push/1")
    check_eq(g, "push stream limits", (ps["request_limit"], ps["response_limit"]), (2097152, 8388608))
    frame = bytes.fromhex(ps["frame"])
    body = texts["request"].encode()
    check_eq(g, "push stream frame", frame, len(body).to_bytes(4, "big") + body)

    def frame_length(prefix, limit):
        n = int.from_bytes(prefix, "big")
        if n == 0:
            return "bad_request"
        return "too_large" if n > limit else n

    check_eq(g, "push stream frame length", frame_length(frame[:4], ps["request_limit"]), len(body))
    for case in ps["refused_requests"]:
        prefix = bytes.fromhex(case["prefix"])
        check_eq(g, f"push stream prefix {case['prefix']} length", int.from_bytes(prefix, "big"), case["length"])
        check_eq(g, f"push stream prefix {case['prefix']} refused", frame_length(prefix, ps["request_limit"]), case["code"])

    # The other messages (values; field order free), carrying room.json's events.
    seeds = {k: bytes.fromhex(v) for k, v in f["seeds"].items()}
    check_eq(g, "seeds", sorted(seeds), ["alice", "bob", "carol", "dave", "node", "node_b"])
    check_eq(g, "alice's seed is envelopes.json's", f["seeds"]["alice"], envelopes["cases"][0]["seed"])
    check_eq(g, "node seed is room.json's", f["seeds"]["node"], room_file["node_seed"])
    node, node_b = public_key(seeds["node"]), public_key(seeds["node_b"])
    room, wire = id_text("room", room_file["room_id"], []), [e["event"] for e in room_file["events"]]
    ev = [verify_event(w) for w in wire]  # node 9's timeline, in the order it stored them
    ids = [e["id"] for e in ev]
    alice_pair = {"identity": envelopes["cases"][0]["envelope"], "attestation": envelopes["cases"][1]["envelope"]}
    m = f["messages"]
    check_eq(g, "messages", sorted(m), ["fetch", "join", "join_answer", "list_entries", "list_entries_answer", "lists",
                                        "lists_answer", "manifest", "manifest_answer", "push", "pushed", "sync",
                                        "sync_answer"])
    req = {k: run(g, f"{k} parses", parse_request, m[k]) or (None, {}) for k in ("push", "sync", "fetch", "join")}
    resp = {k: run(g, f"{k} parses", parse_response, m[k]) or (None, {}) for k in ("pushed", "sync_answer", "join_answer")}
    for k, kind in (("push", "push"), ("sync", "sync"), ("fetch", "events"), ("join", "join"), ("pushed", "pushed"),
                    ("sync_answer", "events"), ("join_answer", "events")):
        check_eq(g, f"{k}: type", (m[k]["type"], (req.get(k) or resp.get(k))[0]), (kind, kind))
    for k in ("push", "sync", "fetch", "join"):
        check_eq(g, f"{k}: room", req[k][1].get("room"), room)

    # push (§3.2): node 9 pushes alice's "hello, room" with alice's pair; checks 2, 4, 5 pass.
    p = m["push"]
    check_eq(g, "push: the event is room.json's 'hello, room'", p["events"], [wire[4]])
    check_eq(g, "push: alice's pair of envelopes.json", p["identities"], [alice_pair])
    check_pair(g, "push: alice", p["identities"][0], seeds["alice"], seeds["node"])
    check_eq(g, "push: checks 2, 4, 5", peer_checks(p["events"], p["identities"], node, True), [None])
    # pushed (§3.2): one outcome of each status, one per pushed event
    want = [("accepted", ids[4], None), ("duplicate", ids[3], None), ("retry", ids[7], "missing_prev"),
            ("refused", ids[5], "not_home")]
    check_eq(g, "pushed: outcomes", resp["pushed"][1].get("outcomes"), want)
    # sync (§3.3) and its answer: node 9's events above each held number, ascending seq, at most 256
    held = req["sync"][1].get("held", {})
    check_eq(g, "sync: held", held, {node: 5, node_b: 2})
    check_eq(g, "sync: held (text)", m["sync"]["held"], {node_text(node): 5, node_text(node_b): 2})
    lacked = sorted((e for e in ev if e["stamp"]["seq"] > held.get(e["stamp"]["origin"], 0)),
                    key=lambda e: (e["stamp"]["depth"], e["id"]))  # sent in order key order, a causal order
    a = m["sync_answer"]
    check_eq(g, "sync_answer: the events node B lacks", [verify_event(e)["id"] for e in a["events"]],
             [e["id"] for e in lacked])
    check_eq(g, "sync_answer: as in room.json", a["events"], [wire[ids.index(e["id"])] for e in lacked])
    check(g, "sync_answer: causal order", causal(a["events"]))
    check_eq(g, "sync_answer: more, next", (a["more"], a["next"]), (len(lacked) > 256, 0))
    authors = list(dict.fromkeys(e["body"]["author"] for e in lacked))  # once each, by first appearance (§3.7)
    check_eq(g, "sync_answer: one pair per author", [b64d(q["identity"]["signer"]) for q in a["identities"]], authors)
    check_pair(g, "sync_answer: bob", a["identities"][0], seeds["bob"], seeds["node"])
    check_pair(g, "sync_answer: carol", a["identities"][1], seeds["carol"], seeds["node"])
    check_eq(g, "sync_answer: checks 2, 4", peer_checks(a["events"], a["identities"], node_b, False), [None] * 3)
    # fetch (§3.4)
    check_eq(g, "fetch: ids", req["fetch"][1].get("ids"), [ids[3], ids[4]])
    # join (§3.5): dave, homed at node B, may join the public room in which he is not banned
    j = m["join"]
    dave = check_pair(g, "join: dave", j["joiner"], seeds["dave"], seeds["node_b"])
    _, state = resolve(room, ev)
    check(g, "join: dave may join", state.join_rule == "public" and dave.get("account") not in state.bans)
    check_eq(g, "join: after", j["after"], 0)
    a = m["join_answer"]
    timeline = wire[j["after"]:][:256]
    check_eq(g, "join_answer: node 9's timeline after position 0", a["events"], timeline)
    check_eq(g, "join_answer: the first event is the create", verify_event(a["events"][0])["id"], room)
    check(g, "join_answer: causal order", causal(a["events"]))
    check_eq(g, "join_answer: more, next", (a["more"], a["next"]),
             (j["after"] + len(timeline) < len(wire), j["after"] + len(timeline)))  # positions 1, 2, 3, ...
    authors = list(dict.fromkeys(verify_event(e)["body"]["author"] for e in timeline))
    pairs = {b64d(q["identity"]["signer"]): q for q in [alice_pair] + m["sync_answer"]["identities"]}
    check_eq(g, "join_answer: one pair per author", a["identities"], [pairs.get(x) for x in authors])
    check_eq(g, "join_answer: checks 2, 4", peer_checks(a["events"], a["identities"], node, False), [None] * 8)

    # What must be refused (§1.2, §3, §4).
    check_refused(g, "unknown request type", "unsupported", parse_request, {"type": "gossip"})
    check_refused(g, "unknown field", "bad_request", parse_request, {**m["fetch"], "extra": 1})
    check_refused(g, "missing field", "bad_request", parse_request, {"type": "sync", "room": m["sync"]["room"]})
    check_refused(g, "65 events in a push", "too_many", parse_request, {**p, "events": p["events"] * 65})
    check_refused(g, "65 ids in a fetch", "too_many", parse_request, {**m["fetch"], "ids": m["fetch"]["ids"] * 33})
    pt, many = BASE, {}
    for _ in range(1025):  # 1025 distinct node ids: the keys of B, 2B, 3B, ...
        many[node_text(point_compress(pt))] = 1
        pt = point_add(pt, BASE)
    check_refused(g, "1025 origins in a sync", "too_many", parse_request, {**m["sync"], "held": many})
    check_refused(g, "a retry with a refusal code", "bad_request", parse_response,
                  {"type": "pushed", "outcomes": [{"status": "retry", "event": m["fetch"]["ids"][0], "code": "not_home"}]})
    check_eq(g, "push from another node: not_origin", peer_checks(p["events"], p["identities"], node_b, True),
             ["not_origin"])
    check_eq(g, "push without the author's pair: unknown_author", peer_checks(p["events"], [], node, True),
             ["unknown_author"])
    moved = dict(account=acct(public_key(seeds["alice"])), handle="alice@example.net", home=node_text(node_b),
                 created=1764000000000)  # alice's document naming node B as home, attested by node B
    doc_env = signed_env(seeds["alice"], "identity", reserialise(moved))
    att = dict(account=moved["account"], identity=sha256(b64d(doc_env["body"])).hex(), node=node_text(node_b),
               registered=1764000000005, level="open")
    elsewhere = dict(identity=doc_env, attestation=signed_env(seeds["node_b"], "attestation", reserialise(att)))
    run(g, "alice's pair homed at node B verifies", verify_pair, elsewhere)
    check_eq(g, "an author homed elsewhere: not_home", peer_checks(p["events"], [elsewhere], node, True), ["not_home"])
    mismatched = dict(identity=alice_pair["identity"], attestation=elsewhere["attestation"])
    check_refused(g, "an attestation of another document", "attestation_mismatch", verify_pair, mismatched)
    bad = dict(p["events"][0], author=dict(p["events"][0]["author"]))
    sig = bytearray(b64d(bad["author"]["sig"]))
    sig[10] ^= 1
    bad["author"]["sig"] = b64e(bytes(sig))
    big = dict(p["events"][0], author=dict(p["events"][0]["author"], body=b64e(b"{" + b" " * 24576 + b"}")))
    check_eq(g, "an author body over 24576 bytes: too_large", peer_checks([big], p["identities"], node, True),
             ["too_large"])
    check_eq(g, "a flipped signature: bad_signature", peer_checks([bad], p["identities"], node, True),
             ["bad_signature"])
    check_list_entries(m, blocklist, g)
    check_manifest(m, envelopes, blocklist, seeds, g)
    check_lists(m, blocklist, seeds, g)
    check_gossip(f, blocklist, equivocation, g)
    # §1.4: a room's provider key is SHA-256(domain || 0x00 || the room id's 32 bytes).
    rp = f["room_provider"]
    check_eq(g, "room provider domain", rp["domain"], "accord/v1/room-provider")
    check_eq(g, "room provider room is room.json's", rp["room"], room_file["room_id"])
    room_bytes = run(g, "room provider room decodes", bech32m_decode, "room", rp["room"])
    check_eq(g, "room provider key", rp["key"], sha256(rp["domain"].encode() + b"\x00" + room_bytes).hex())

# ------------------------------------------------------------ media frames (federation.md §10)

MAX_CHUNK = 262144

def parse_media_request(b):  # §10.1: hash, offset u64 BE, length u32 BE; 44 bytes; length 1..MAX_CHUNK
    if len(b) != 44: raise Refused("bad_media_frame", "a request is 44 bytes")
    offset, length = int.from_bytes(b[32:40], "big"), int.from_bytes(b[40:44], "big")
    if not 1 <= length <= MAX_CHUNK: raise Refused("bad_media_frame", "a chunk is 1 to 262144 bytes")
    return dict(hash=b[:32].hex(), offset=offset, length=length)

def parse_media_response(b):  # §10.2: a status byte; status 0: total u64 BE, then at most MAX_CHUNK bytes
    if not b or b[0] > 3: raise Refused("bad_media_frame", "unknown status")
    if b[0] != 0:
        if len(b) != 1: raise Refused("bad_media_frame", "statuses 1-3 carry nothing")
        return dict(status=b[0])
    if not 9 <= len(b) <= 9 + MAX_CHUNK: raise Refused("bad_media_frame", "chunk length")
    return dict(status=0, total=int.from_bytes(b[1:9], "big"), bytes_hex=b[9:].hex())

def check_media(f, g="media.json"):
    r = f["request"]
    req = parse_media_request(bytes.fromhex(r["hex"]))
    check_eq(g, "request fields", req, dict(hash=r["hash"], offset=r["offset"], length=r["length"]))
    check_eq(g, "request bytes", (bytes.fromhex(r["hash"]) + r["offset"].to_bytes(8, "big")
                                  + r["length"].to_bytes(4, "big")).hex(), r["hex"])
    check_eq(g, "one response of each status", [x["status"] for x in f["responses"]], [0, 1, 2, 3])
    for x in f["responses"]:
        want = {k: x[k] for k in ("status", "total", "bytes_hex") if k in x}
        check_eq(g, f"response status {x['status']}", parse_media_response(bytes.fromhex(x["hex"])), want)
    good = bytes.fromhex(r["hex"])
    check_eq(g, "refused: the request cut short, lengths 0 and 262145", f["refused_requests_hex"],
             [good[:43].hex(), (good[:40] + (0).to_bytes(4, "big")).hex(), (good[:40] + (MAX_CHUNK + 1).to_bytes(4, "big")).hex()])
    for h in f["refused_requests_hex"]:
        check_refused(g, f"request of {len(h) // 2} bytes ({h[-8:]})", "bad_media_frame", parse_media_request,
                      bytes.fromhex(h))

# ------------------------------------------- list pages (federation.md §3.13)

MAX_PAGE_LEAVES, MAX_PAGE_BYTES, MAX_PAGE_REQUEST = 16384, 4 * 1024 * 1024, 268
MAX_LEAF, MAX_NOTE = 4096, 8192  # limits.rs: MAX_LIST_ENTRY, MAX_CHECKPOINT_NOTE

class Frame:
    """Reads big-endian fields off a frame in order; the first field that fails refuses it (§3.13)."""
    def __init__(self, b): self.b, self.at = b, 0
    def take(self, n):
        if len(self.b) - self.at < n: raise Refused("page_truncated", "the frame ends inside a field")
        self.at += n
        return self.b[self.at - n : self.at]
    def uint(self, n): return int.from_bytes(self.take(n), "big")
    def length(self, n, lo, hi):
        v = self.uint(n)
        if not lo <= v <= hi: raise Refused("page_bad_length", f"{v} outside {lo}..{hi}")
        return v
    def utf8(self, n):
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("page_bad_text", "not UTF-8")
    def end(self):
        if self.at != len(self.b): raise Refused("page_trailing_bytes", f"{len(self.b) - self.at} bytes after the end")

def parse_page_request(b):  # §3.13 request: L (u8) 1-255, list id, from (u64), limit (u32) >= 1
    if len(b) > MAX_PAGE_REQUEST: raise Refused("page_too_large")
    r = Frame(b)
    text = r.utf8(r.length(1, 1, 255))
    try:
        lid = list_id(text)
    except (ValueError, Refused) as e:
        raise Refused("page_bad_text", f"list id: {e}")
    frm, limit = r.uint(8), r.length(4, 1, 2**32 - 1)
    r.end()
    return dict(list=lid, frm=frm, limit=limit, served=min(limit, MAX_PAGE_LEAVES))

def parse_page(b):  # §3.13 response: status 0 (a page) or 1 (an error)
    if len(b) > MAX_PAGE_BYTES: raise Refused("page_too_large")
    r = Frame(b)
    status = r.uint(1)
    if status == 0:
        note = r.utf8(r.length(2, 1, MAX_NOTE))
        count = r.length(4, 0, MAX_PAGE_LEAVES)
        if count > (len(b) - r.at) // 3: raise Refused("page_truncated", "more leaves than bytes")
        leaves = [r.take(r.length(2, 1, MAX_LEAF)) for _ in range(count)]
        r.end()
        return dict(status=0, checkpoint=note, leaves=leaves)
    if status == 1:
        code = r.utf8(r.length(1, 1, 64))
        if not code or any(c not in "abcdefghijklmnopqrstuvwxyz_" for c in code): raise Refused("page_bad_text", "code")
        message = r.utf8(r.length(2, 0, 1024))
        r.end()
        return dict(status=1, code=code, message=message)
    raise Refused("page_bad_status", f"status {status}")

def apply_pages(lid, held, frm, page):  # blocklists.md §10.3-§10.4 with a page's leaves
    try:
        entries = [leaf.decode("utf-8") for leaf in page["leaves"]]
    except UnicodeDecodeError:
        raise Refused("invalid_entry", "a leaf is not UTF-8")
    return apply_range(lid, held, frm, page["checkpoint"], entries)

def check_list_pages(f, federation, blocklist, g="list_pages.json"):  # federation.md §3.13
    check_eq(g, "fields", sorted(f), ["description", "error", "limits", "page", "protocol", "refused_pages",
                                       "refused_requests", "request"])
    check_eq(g, "protocol", f["protocol"], "/accord/list-pages/1")
    check_eq(g, "limits", f["limits"], dict(max_page_leaves=MAX_PAGE_LEAVES, max_page_bytes=MAX_PAGE_BYTES,
                                            max_request_bytes=MAX_PAGE_REQUEST, max_leaf_bytes=MAX_LEAF,
                                            max_checkpoint_bytes=MAX_NOTE))
    lid = list_id(blocklist["list_id"])
    leaves = [e["json"].encode("utf-8") for e in blocklist["entries"]]
    fetch = federation["messages"]["list_entries"]
    r = f["request"]
    check_eq(g, "request fields", sorted(r), ["from", "hex", "limit", "list"])
    req_b = bytes.fromhex(r["hex"])
    req = run(g, "request parses", parse_page_request, req_b) or {}
    check_eq(g, "request: federation.json's list_entries fetch as a page request",
             (req.get("list"), req.get("frm"), req.get("limit")), (lid, fetch["from"], MAX_PAGE_LEAVES))
    check_eq(g, "request: its fields", (list_id(r["list"]), r["from"], r["limit"]),
             (req.get("list"), req.get("frm"), req.get("limit")))
    text = r["list"].encode()
    check_eq(g, "request bytes", (bytes([len(text)]) + text + r["from"].to_bytes(8, "big")
                                  + r["limit"].to_bytes(4, "big")).hex(), r["hex"])
    p = f["page"]
    check_eq(g, "page fields", sorted(p), ["checkpoint", "hex", "leaves"])
    page_b = bytes.fromhex(p["hex"])
    page = run(g, "page parses", parse_page, page_b) or {}
    check_eq(g, "page: status 0", page.get("status"), 0)
    check_eq(g, "page: its checkpoint and leaves", (page.get("checkpoint"), page.get("leaves")),
             (p["checkpoint"], [x.encode("utf-8") for x in p["leaves"]]))
    check_eq(g, "page: blocklist.json's latest checkpoint", p["checkpoint"], blocklist["checkpoints"][-1]["note"])
    check_eq(g, "page: the leaves of list_entries_answer", p["leaves"],
             federation["messages"]["list_entries_answer"]["entries"])
    held = leaves[: fetch["from"]]
    after = run(g, "page: held + paged leaves make the signed root", apply_pages, lid, held, len(held), page)
    check_eq(g, "page: the subscriber now holds blocklist.json's log", after, leaves)
    note = p["checkpoint"].encode()
    body = len(note).to_bytes(2, "big") + note + len(p["leaves"]).to_bytes(4, "big")
    body += b"".join(len(x).to_bytes(2, "big") + x for x in (y.encode() for y in p["leaves"]))
    check_eq(g, "page bytes", (b"\0" + body).hex(), p["hex"])
    e = f["error"]
    check_eq(g, "error fields", sorted(e), ["code", "hex", "message"])
    check_eq(g, "error parses", parse_page(bytes.fromhex(e["hex"])), dict(status=1, code=e["code"], message=e["message"]))
    check_eq(g, "error: unknown_list", e["code"], "unknown_list")
    check_eq(g, "error bytes", (b"\1" + bytes([len(e["code"])]) + e["code"].encode()
                                + len(e["message"].encode()).to_bytes(2, "big") + e["message"].encode()).hex(), e["hex"])
    # The refused frames: each rebuilt from the good ones, each refused with its code.
    at = 3 + len(note)
    count = lambda c: page_b[:at] + c.to_bytes(4, "big") + page_b[at + 4 :]
    head = page_b[: at + 4]
    pages = [("page_truncated", page_b[:-1]), ("page_trailing_bytes", page_b + b"\0"),
             ("page_bad_length", count(MAX_PAGE_LEAVES + 1)), ("page_truncated", count(2)),
             ("page_bad_length", head + (MAX_LEAF + 1).to_bytes(2, "big") + b"xyz"),
             ("page_bad_length", head + b"\0\0xyz"), ("page_bad_length", b"\0\0\0"), ("page_bad_status", b"\2"),
             ("page_bad_text", b"\1\1X\0\0")]
    reqs = [("page_truncated", req_b[:-1]), ("page_bad_length", req_b[:-4] + bytes(4)), ("page_bad_length", b"\0"),
            ("page_bad_text", b"\3x/y" + bytes(12)), ("page_trailing_bytes", req_b + b"\0")]
    for key, want, parse in [("refused_pages", pages, parse_page), ("refused_requests", reqs, parse_page_request)]:
        check_eq(g, f"{key}: fields", [sorted(x) for x in f[key]], [["code", "hex", "name"]] * len(f[key]))
        check_eq(g, f"{key}: the frames", [(x["code"], x["hex"]) for x in f[key]], [(c, b.hex()) for c, b in want])
        for x in f[key]:
            check_refused(g, f"{key}: {x['name']}", x["code"], parse, bytes.fromhex(x["hex"]))
    check_refused(g, "a page of 4194305 bytes", "page_too_large", parse_page, page_b + bytes(MAX_PAGE_BYTES))
    check_refused(g, "a request of 269 bytes", "page_too_large", parse_page_request, bytes(MAX_PAGE_REQUEST + 1))
    check_refused(g, "a page whose leaves do not make the root", "bad_range", apply_pages, lid, held, len(held),
                  dict(page, leaves=[leaves[0]]))

# ----------------------------------------------------------------------- main

FILES = ["audit.json", "blocklist.json", "envelopes.json", "equivocation.json", "federation.json", "keys.json",
         "list_pages.json", "media.json", "merkle.json", "names.json", "report.json", "room.json"]

def main():
    vector_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "vectors"
    found = sorted(p.name for p in vector_dir.glob("*.json"))
    check_eq("files", "the set of vector files", found, FILES)
    v = {name: json.loads((vector_dir / name).read_text(encoding="utf-8")) for name in found}
    out = {}

    def group(name, fn, *args):  # a crash fails its group, not the whole run
        try:
            out[name] = fn(v[name] if name in v else v, *args)
        except Exception as e:
            check(name, f"crashed: {type(e).__name__}: {e}", False)

    for name, fn in [("keys.json", check_keys), ("envelopes.json", check_envelopes), ("room.json", check_room),
                     ("merkle.json", check_merkle), ("blocklist.json", check_blocklist)]:
        group(name, fn)
    group("equivocation.json", check_equivocation, out.get("blocklist.json"))
    group("report.json", check_report, v["room.json"]["events"])
    group("audit.json", check_audit, v["report.json"])
    group("federation.json", check_federation, v["envelopes.json"], v["room.json"], v["blocklist.json"],
          v["equivocation.json"])
    group("media.json", check_media)
    group("list_pages.json", check_list_pages, v["federation.json"], v["blocklist.json"])
    group("names.json", check_names)
    group("strictness", check_strictness, *out.get("room.json", (None, None)), out.get("blocklist.json"))
    passed = sum(ok for ok, _ in RESULTS.values())
    failed = sum(len(failures) for _, failures in RESULTS.values())
    for name, (ok, failures) in RESULTS.items():
        print(f"{name}: {ok} passed" + "".join(f"\n  FAILED {msg}" for msg in failures))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
