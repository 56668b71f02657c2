# The judge's side of the Python code rule, in a sandbox of its own: runs the tests, each
# top-level assert one test, then check(entry_point) when given. The program runs in another
# sandbox; its functions are called across file descriptor 3 with plain values, and its results
# come back as plain values, compared here where the program cannot reach. The verdict line
# carries a nonce that only the judge is given.
import ast
import builtins
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402


class Remote:
    """A function of the program: arguments go out as data, the result comes back as data."""

    def __init__(self, channel, name):
        self._channel = channel
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        self._channel.send([self.__name__, wire.encode(args), wire.encode(kwargs)])
        reply = self._channel.receive()
        if reply[0] == "return":
            return wire.decode(reply[1])
        kind = getattr(builtins, str(reply[1]), None) if reply[0] == "raise" else None
        if not (isinstance(kind, type) and issubclass(kind, Exception)):
            kind = RuntimeError
        raise kind(str(reply[2]) if len(reply) > 2 else "")


def program_names(channel):
    """The program's top-level names, as remote functions or values; None when it failed to run."""
    hello = channel.receive()
    if hello[0] != "ready":
        return None
    names = {}
    for name, value in hello[1].items():
        if not name.isidentifier() or name.startswith("__") or hasattr(builtins, name) or name == "check":
            continue
        names[name] = Remote(channel, name) if value == ["callable"] else wire.decode(value)
    return names


def main():
    nonce = sys.stdin.readline().strip()
    sys.stdin.close()
    task = sys.argv[1]
    entry_point = sys.argv[2] if len(sys.argv) > 2 else ""
    names = program_names(wire.Channel(3, ast.literal_eval))
    if names is None:
        sys.exit(1)
    with open(task + "/tests.py") as f:
        tests = f.read()
    namespace = {"__name__": "__aha_tests__", **names}
    passed = total = 0
    for node in ast.parse(tests, "tests.py").body:
        code = compile(ast.Module(body=[node], type_ignores=[]), "tests.py", "exec")
        if isinstance(node, ast.Assert):
            total += 1
            try:
                exec(code, namespace)
                passed += 1
            except Exception:
                pass
        else:
            exec(code, namespace)
    if entry_point:
        total += 1
        try:
            if isinstance(namespace["check"], Remote) or entry_point not in names:
                raise LookupError("no check function in the tests, or no %s in the program" % entry_point)
            namespace["check"](names[entry_point])
            passed += 1
        except Exception:
            pass
    if total == 0:
        passed = total = 1
    sys.stdout.flush()
    sys.stdout.write("\n%s %d %d\n" % (nonce, passed, total))
    sys.stdout.flush()


main()
