"""Writes the pickle fixtures of tests/it/scan.rs into OUT_DIR, with expected.json: the byte
offset of every import opcode, as CPython's pickletools reads them, and for a corpus of benign
pickles of every protocol (OUT_DIR/corpus), the imports CPython's unpickler asks for.

    python3 scan_fixtures.py OUT_DIR

Only the standard library. No malicious pickle is ever unpickled: they are made by pickling
objects whose __reduce__ names os.system or eval, which pickling does not call. PyTorch is not needed either: stand-in modules named `torch` and `torch._utils` make the
pickler write the same imports a real `torch.save` does.
"""

import collections
import datetime
import decimal
import enum
import io
import json
import os
import pickle
import pickletools
import sys
import types
import zipfile

OUT = sys.argv[1]
expected = {}


def offsets(data, start=0):
    """Opcode name -> offsets of the import opcodes of one pickle."""
    found = collections.defaultdict(list)
    for op, _arg, pos in pickletools.genops(data):
        if op.name in ("GLOBAL", "STACK_GLOBAL", "INST"):
            found[op.name].append(start + pos)
    return dict(found)


def write(name, data, **extra):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    expected[name] = extra


class Evil:
    """Pickles as a call of os.system (what `__reduce__` names is imported on load)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


class Eval:
    def __reduce__(self):
        return (eval, ("1+1",))


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


# A benign state dict, protocols 2 (GLOBAL) and 4 (STACK_GLOBAL, FRAME, MEMOIZE).
state = collections.OrderedDict([("layer.weight", [1.0, 2.0]), ("layer.bias", [0.5])])
for protocol in (2, 4):
    data = pickle.dumps(state, protocol=protocol)
    write(f"benign_p{protocol}.pkl", data, imports=offsets(data))

for protocol in (2, 4):
    data = pickle.dumps(Evil(), protocol=protocol)
    write(f"os_system_p{protocol}.pkl", data, imports=offsets(data))

data = pickle.dumps(Eval(), protocol=2)
write("eval.pkl", data, imports=offsets(data))

# The module string of the second import is read back from the memo (BINGET).
data = pickle.dumps([os.getcwd, os.system], protocol=4)
write("memo_p4.pkl", data, imports=offsets(data))

# Two objects of one class: the class is imported once, then read from the memo.
data = pickle.dumps([Point(1, 2), Point(3, 4)], protocol=4)
write("same_class_p4.pkl", data, imports=offsets(data))

# A benign pickle with a malicious one appended: a loader calling load() twice runs both.
first = pickle.dumps(state, protocol=2)
second = pickle.dumps(Evil(), protocol=2)
write("two_pickles.pkl", first + second, imports=offsets(second, len(first)))

# Cut inside the argument of the last SHORT_BINUNICODE: the walker must say where.
data = pickle.dumps(state, protocol=4)
last = [pos for op, _arg, pos in pickletools.genops(data) if op.name == "SHORT_BINUNICODE"][-1]
write("truncated.pkl", data[: last + 3], truncated_at=last)

# Stand-ins for torch and torch._utils, so the pickler writes what torch.save writes.
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage


def _rebuild_tensor_v2(*args):
    raise RuntimeError("a fixture is never loaded")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class Storage:
    pass


class Tensor:
    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (Storage(), 0, (2,), (1,), False, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    """torch.save's pickler: storages become persistent ids naming their class."""

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, "0", "cpu", 2)
        return None


buffer = io.BytesIO()
TorchPickler(buffer, protocol=2).dump(collections.OrderedDict([("weight", Tensor())]))
data_pkl = buffer.getvalue()


def torch_zip(name, pkl, compression):
    """A torch.save archive: archive/data.pkl, the tensor bytes, version and byteorder."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        archive.writestr("archive/data.pkl", pkl)
        archive.writestr("archive/data/0", b"\x00\x00\x80\x3f\x00\x00\x00\x40")
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/byteorder", "little")
    write(name, out.getvalue(), imports=offsets(pkl))


torch_zip("torch_like.pt", data_pkl, zipfile.ZIP_STORED)
torch_zip("evil.bin", pickle.dumps(Evil(), protocol=2), zipfile.ZIP_DEFLATED)

# torch's legacy format: magic number, protocol version, sys info, the data, the storage keys
# (five pickles), then raw storage bytes, which here start like a PROTO opcode.
parts = [
    pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
    pickle.dumps(1001, protocol=2),
    pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
    pickle.dumps(Evil(), protocol=2),
    pickle.dumps(["0"], protocol=2),
]
start = sum(len(p) for p in parts[:3])
raw = b"\x80\x09" + bytes(range(30))
write("legacy.pt", b"".join(parts) + raw, imports=offsets(parts[3], start))

# A .npy of object dtype: NumPy pickles the array after the header.
header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
prefix = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1")
pkl = pickle.dumps([os.system], protocol=3)
write("objects.npy", prefix + pkl, imports=offsets(pkl, len(prefix)))

# A corpus of benign objects at every protocol, with the imports CPython's own unpickler asks
# for (a recording find_class). These pickles are made here from plain data, and are the only
# ones this script loads.
Pair = collections.namedtuple("Pair", "x y")


class Plain:
    def __init__(self):
        self.x = {"k": (1, 2.5, None, True)}
        self.y = b"\x00" * 300


class Color(enum.Enum):
    RED = 1


loop = []
loop.append(loop)
corpus = {
    "scalars": [1, -1, 2**70, -(2**70), 3.14, 1 + 2j, "s", "\u00e9" * 600, b"b", bytearray(b"ba"),
                None, True, False, (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], {}, set(),
                frozenset({1}), {1, 2}],
    "stdlib": [datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.timedelta(3),
               decimal.Decimal("1.5"), collections.Counter("hello"),
               collections.defaultdict(list, {"a": [1]}), Color.RED, Color.RED],
    "instances": [Pair(1, 2), Pair(3, 4), Plain(), Plain()],
    "state_dict": collections.OrderedDict((f"layer.{i}", list(range(i))) for i in range(40)),
    "loop": loop,
    "batches": [list(range(2500)), {str(i): i for i in range(1500)}],
    "long": ["x" * 5000, b"y" * 70000],
}


class Recorder(pickle.Unpickler):
    def find_class(self, module, name):
        self.imports.append([module, name])
        return super().find_class(module, name)


os.mkdir(os.path.join(OUT, "corpus"))
imports_by_file = {}
for name, obj in corpus.items():
    for protocol in range(6):
        data = pickle.dumps(obj, protocol=protocol)
        file = f"{name}_p{protocol}.pkl"
        with open(os.path.join(OUT, "corpus", file), "wb") as f:
            f.write(data)
        recorder = Recorder(io.BytesIO(data))
        recorder.imports = []
        recorder.load()
        imports_by_file[file] = sorted(set(map(tuple, recorder.imports)))
expected["corpus"] = imports_by_file

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
