# What crosses between the judge and the candidate: plain values as tagged trees of lists and
# strings, one Python literal per line. Only exact built-in types are encoded (a subclass could
# redefine equality), and decoding builds fresh built-in values, so nothing the candidate defines
# ever runs in the judge. The judge reads with ast.literal_eval (literals only); the candidate,
# which only hears from the judge, with eval. Neither imports json: its import costs more than
# the tests of a typical problem.
LIMIT = 64 << 20  # bytes in one message


def encode(value, depth=0):
    if depth > 200:
        raise ValueError("a value nested more than 200 deep")
    kind = type(value)
    if value is None:
        return ["none"]
    if kind is bool:
        return ["bool", value]
    if kind is int:
        return ["int", hex(value)]
    if kind is float:
        return ["float", value.hex()]
    if kind is complex:
        return ["complex", value.real.hex(), value.imag.hex()]
    if kind is str:
        return ["str", value]
    if kind is bytes:
        return ["bytes", value.hex()]
    if kind in (list, tuple, set, frozenset):
        return [kind.__name__, [encode(item, depth + 1) for item in value]]
    if kind is dict:
        return ["dict", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]]
    raise TypeError("a value of type %s cannot cross between the program and its tests" % kind.__name__)


_SEQUENCES = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}


def decode(tagged):
    tag = tagged[0]
    if tag == "none":
        return None
    if tag == "bool":
        return bool(tagged[1])
    if tag == "int":
        return int(tagged[1], 16)
    if tag == "float":
        return float.fromhex(tagged[1])
    if tag == "complex":
        return complex(float.fromhex(tagged[1]), float.fromhex(tagged[2]))
    if tag == "str":
        return str(tagged[1])
    if tag == "bytes":
        return bytes.fromhex(tagged[1])
    if tag in _SEQUENCES:
        return _SEQUENCES[tag](decode(item) for item in tagged[1])
    if tag == "dict":
        return {decode(k): decode(v) for k, v in tagged[1]}
    raise ValueError("unknown tag %r" % (tag,))


class Channel:
    def __init__(self, fd, parse):
        self._in = open(fd, "rb", buffering=1 << 16, closefd=False)
        self._out = open(fd, "wb", buffering=0, closefd=False)
        self._parse = parse

    def send(self, message):
        self._out.write(repr(message).encode() + b"\n")

    def receive(self):
        line = self._in.readline(LIMIT)
        if not line.endswith(b"\n"):
            raise EOFError("the other side closed the channel or sent an oversized message")
        message = self._parse(line.decode())
        if not isinstance(message, list) or not message:
            raise ValueError("a message is a non-empty list")
        return message
