"""Build tests/data/privacy_independent.jsonl from the hand-written prose in privacy_independent/.

The prose files hold one prompt per block::

    @@ 1 email,phone | en
    text, as many lines as it needs
    @@ 0 version | de
    ...

``1``/``0`` is the label, then the kinds (for a negative: the trap it sets), then the language.
This script only fills ``{{...}}`` slots that need a valid checksum or a random body (cards,
IBANs, fake credentials); everything else is written by hand. Every value is random: none is a
real card, account or key. Run: ``python benchmarks/data_tools/make_privacy_independent.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import string
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent.parent / "tests" / "data" / "privacy_independent.jsonl"
ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
rng = random.Random(20261203)


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + rand(length - len(prefix) - 1, string.digits)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def group(s: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    return sep.join(p for p in out if p)


def card(network: str = "visa", fmt: str = "spaces") -> str:
    prefix, length = {"visa": ("4", 16), "mc": ("5" + rng.choice("12345"), 16),
                      "amex": ("3" + rng.choice("47"), 15), "discover": ("6011", 16),
                      "mc2": ("22" + rng.choice("3456"), 16)}[network]
    num = luhn_complete(prefix, length)
    sizes = [4, 6, 5] if length == 15 else [4, 4, 4, 4]
    return {"spaces": group(num, sizes, " "), "dashes": group(num, sizes, "-"), "plain": num}[fmt]


IBAN_BBAN = {  # country: (length, BBAN shape: n digits / a upper / c alnum)
    "DE": "18n", "FR": "10n11c2n", "ES": "20n", "NL": "4a10n", "IT": "1a10n12c", "GB": "4a14n",
    "PL": "24n", "CH": "5n12c", "BE": "12n", "AT": "16n", "PT": "21n", "IE": "4a14n",
}


def iban(country: str = "DE", fmt: str = "spaces") -> str:
    bban = ""
    for n, kind in re.findall(r"(\d+)([nac])", IBAN_BBAN[country]):
        alphabet = {"n": string.digits, "a": string.ascii_uppercase,
                    "c": string.ascii_uppercase + string.digits}[kind]
        bban += rand(int(n), alphabet)
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    value = f"{country}{check:02d}{bban}"
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if fmt == "spaces" else value


def b64(n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(sub: str = "") -> str:
    header = b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    claims = {"sub": sub or rand(12, string.digits), "iat": 1764000000 + rng.randrange(10**6),
              "exp": 1765000000 + rng.randrange(10**6), "scope": rng.choice(["read write", "admin", "user"])}
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(rng.randbytes(32))}"


def github(prefix: str) -> str:
    body = rand(30)
    crc = binascii.crc32(body.encode())
    tail = ""
    while crc:
        crc, r = divmod(crc, 62)
        tail = B62[r] + tail
    return f"{prefix}_{body}{tail.rjust(6, '0')}"


def pem(kind: str = "RSA", lines: str = "12") -> str:
    label = {"RSA": "RSA PRIVATE KEY", "EC": "EC PRIVATE KEY", "PKCS8": "PRIVATE KEY",
             "OPENSSH": "OPENSSH PRIVATE KEY"}[kind]
    body = "\n".join(b64(48) for _ in range(int(lines)))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
SLOTS = {
    "card": card,
    "iban": iban,
    "openai_proj": lambda: "sk-proj-" + rand(74, URLSAFE) + "T3BlbkFJ" + rand(74, URLSAFE),
    "openai_legacy": lambda: "sk-" + rand(20) + "T3BlbkFJ" + rand(20),
    "openai_svc": lambda: "sk-svcacct-" + rand(74, URLSAFE) + "T3BlbkFJ" + rand(74, URLSAFE),
    "anthropic": lambda: "sk-ant-api03-" + rand(93, URLSAFE) + "AA",
    "anthropic_admin": lambda: "sk-ant-admin01-" + rand(93, URLSAFE) + "AA",
    "akia": lambda: "AKIA" + rand(16, string.ascii_uppercase + "234567"),
    "asia": lambda: "ASIA" + rand(16, string.ascii_uppercase + "234567"),
    "aws_secret": lambda: rand(40, ALNUM + "/+"),
    "ghp": lambda: github("ghp"), "gho": lambda: github("gho"), "ghs": lambda: github("ghs"),
    "ghu": lambda: github("ghu"),
    "github_pat": lambda: "github_pat_" + rand(22) + "_" + rand(59),
    "glpat": lambda: "glpat-" + rand(20, URLSAFE),
    "google": lambda: "AIza" + rand(35, URLSAFE),
    "azure_storage": lambda: b64(64),
    "hex": lambda n="32": rand(int(n), HEX),
    "HEX": lambda n="32": rand(int(n), HEX.upper()),
    "stripe_sk": lambda: "sk_live_" + rand(99),
    "stripe_sk_short": lambda: "sk_live_" + rand(24),
    "stripe_rk": lambda: "rk_live_" + rand(99),
    "stripe_test": lambda: "sk_test_" + rand(99),
    "whsec": lambda: "whsec_" + rand(32),
    "xoxb": lambda: f"xoxb-{rand(12, string.digits)}-{rand(13, string.digits)}-{rand(24)}",
    "xoxp": lambda: f"xoxp-{rand(12, string.digits)}-{rand(12, string.digits)}-{rand(13, string.digits)}-{rand(32, HEX)}",
    "xapp": lambda: f"xapp-1-A{rand(10, string.ascii_uppercase + string.digits)}-{rand(13, string.digits)}-{rand(64, HEX)}",
    "slack_webhook": lambda: "https://hooks.slack.com/services/T" + rand(10, string.ascii_uppercase + string.digits)
    + "/B" + rand(10, string.ascii_uppercase + string.digits) + "/" + rand(24),
    "hf": lambda: "hf_" + rand(34, string.ascii_letters),
    "jwt": jwt,
    "pem": pem,
    "pem_json": lambda kind="PKCS8", lines="10": pem(kind, lines).replace("\n", "\\n") + "\\n",
    "b64": lambda n="30": b64(int(n)),
    "alnum": lambda n="16": rand(int(n)),
    "digits": lambda n="8": rand(int(n), string.digits),
    "uuid": lambda: "-".join(rand(n, HEX) for n in (8, 4, 4, 4, 12)),
    "sha1": lambda: rand(40, HEX),
    "sha256": lambda: rand(64, HEX),
}
SLOT = re.compile(r"\{\{(\w+)(?::([^}]*))?\}\}")
HEAD = re.compile(r"^@@ ([01]) ([\w,:-]*) \| (\w+)\s*$")


def fill(text: str) -> str:
    return SLOT.sub(lambda m: SLOTS[m.group(1)](*(m.group(2).split(":") if m.group(2) else [])), text)


def main() -> None:
    rows = []
    for path in sorted((HERE / "privacy_independent").glob("*.txt")):
        head, lines = None, []
        for line in [*path.read_text(encoding="utf-8").splitlines(), "@@ 0 end | en"]:
            m = HEAD.match(line)
            if not m:
                lines.append(line)
                continue
            if head is not None:
                text = fill("\n".join(lines).strip("\n"))
                rows.append({"id": f"pi-{len(rows) + 1:03d}", "text": text, "sensitive": head[0] == "1",
                             "kinds": [k for k in head[1].split(",") if k], "lang": head[2],
                             "source": "written for llmroute"})
            head, lines = m.groups(), []
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pos = sum(r["sensitive"] for r in rows)
    print(f"{len(rows)} prompts, {pos} sensitive, {len(rows) - pos} negatives "
          f"({(len(rows) - pos) / len(rows):.0%}) -> {OUT}")


if __name__ == "__main__":
    main()
