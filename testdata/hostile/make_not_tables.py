"""Writes the small non-table files of the hostile corpus (run from this folder).

Each is refused by the importer with a message naming what it is; see README.md.
"""
import bz2
import lzma
import random

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
