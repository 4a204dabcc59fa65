"""Nix/Guix base32 (the alphabet and bit order of `guix hash`), for comparing sha256 values."""

ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"


def nix_base32(digest: bytes) -> str:
    n = (len(digest) * 8 - 1) // 5 + 1
    out = []
    for i in range(n - 1, -1, -1):
        byte, bit = divmod(i * 5, 8)
        c = digest[byte] >> bit
        if byte + 1 < len(digest):
            c |= digest[byte + 1] << (8 - bit)
        out.append(ALPHABET[c & 0x1F])
    return "".join(out)
