"""Writes the small non-table and compressed files of the hostile corpus (run from this folder).

Non-tables are refused by the importer with a message naming what they are; compressed exports
are read through their decompressor; see README.md.
"""
import bz2
import lzma
import random
import zipfile

rng = random.Random(20261129)
open("random_bytes.bin", "wb").write(bytes(rng.randrange(256) for _ in range(4096)))
open("nul_bytes_only.csv", "wb").write(bytes(65536))
open("image.png", "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(200)))
csv = b"Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n1,A,B,1,2024-01-01 00:00:00,1.0,1,UK\n"
open("orders.csv.bz2", "wb").write(bz2.compress(csv))
open("orders.csv.xz", "wb").write(lzma.compress(csv))
# A zstd frame magic followed by garbage: corrupt compressed data.
open("corrupt.csv.zst", "wb").write(b"\x28\xb5\x2f\xfd" + bytes(rng.randrange(256) for _ in range(64)))
open("array.json", "w").write('[{"event_time": "2019-10-01 00:00:00 UTC", "event_type": "view"}]\n')
# A 7-Zip archive (not read: refused by name).
open("archive.7z", "wb").write(b"7z\xbc\xaf\x27\x1c" + bytes(rng.randrange(256) for _ in range(64)))
# A zip of one CSV (read), with the folder entry and macOS metadata zip tools add; a zip of two (refused).
with zipfile.ZipFile("orders.csv.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("export/", b"")
    z.writestr("export/orders.csv", csv)
    z.writestr("__MACOSX/export/._orders.csv", b"\x00\x05\x16\x07")
with zipfile.ZipFile("two_files.zip", "w", zipfile.ZIP_STORED) as z:
    z.writestr("orders.csv", csv)
    z.writestr("customers.csv", b"id\n1\n")
