# The candidate's side of the Python code rule, in a sandbox of its own: runs the program, names
# what it defined, then answers the judge's calls. Whatever the program does here reaches the
# judge only as the values it sends back.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wire  # noqa: E402


def main():
    channel = wire.Channel(3, lambda text: eval(text, {"__builtins__": {}}, {}))  # the judge is trusted
    namespace = {"__name__": "__aha_program__"}
    try:
        with open(sys.argv[1] + "/program.py") as f:
            exec(compile(f.read(), "program.py", "exec"), namespace)
    except BaseException as error:
        channel.send(["failed", type(error).__name__, str(error)[:1000]])
        return
    names = {}
    for name, value in list(namespace.items()):
        if name.startswith("__") or type(value).__name__ == "module":
            continue
        try:
            names[name] = ["callable"] if callable(value) else wire.encode(value)
        except (TypeError, ValueError):
            pass
    channel.send(["ready", names])
    while True:
        try:
            name, args, kwargs = channel.receive()
        except EOFError:
            return
        try:
            result = namespace[name](*wire.decode(args), **wire.decode(kwargs))
            reply = ["return", wire.encode(result)]
        except BaseException as error:
            reply = ["raise", type(error).__name__, str(error)[:1000]]
        channel.send(reply)


main()
