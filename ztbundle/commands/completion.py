"""`ztbundle completion bash|zsh|fish`: shell completion for commands, flags, formats and bundle names.

The scripts are generated from the argument parser, so they never drift from `--help`. Node,
ztunnel and namespace names come from the bundle on the command line, through the hidden
`ztbundle __complete KIND WORDS...` (which prints nothing when there is no readable bundle).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ztbundle.commands._args import choice
from ztbundle.exits import Exit

SHELLS = ("bash", "zsh", "fish")
# Flags whose values are names in the bundle, and which kind of name.
NAME_FLAGS = {
    "--node": "nodes",
    "--workload-node": "nodes",
    "--ztunnel": "ztunnels",
    "--namespace": "namespaces",
    "-n": "namespaces",
    "--workload-namespace": "namespaces",
    "--service-namespace": "namespaces",
    "--policy-namespace": "namespaces",
}
PATH_FLAGS = frozenset({"--kubeconfig", "--out-file", "--rules-dir"})

EPILOG = """examples:
  # bash: this shell, then every new one
  source <(ztbundle completion bash)
  ztbundle completion bash > ~/.local/share/bash-completion/completions/ztbundle

  # zsh (uses bashcompinit)
  ztbundle completion zsh > "${fpath[1]}/_ztbundle"

  # fish
  ztbundle completion fish > ~/.config/fish/completions/ztbundle.fish"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="print a completion script: commands, flags, formats, node/ztunnel names from a bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", type=choice(SHELLS), metavar="{" + ",".join(SHELLS) + "}")
    p.set_defaults(run=run)
    hidden = sub.add_parser("__complete")  # no help=: not listed in `ztbundle --help`
    hidden.add_argument("kind", choices=("nodes", "ztunnels", "namespaces"))
    hidden.add_argument("words", nargs=argparse.REMAINDER)
    hidden.set_defaults(run=run_names)


@dataclass(slots=True)
class Command:
    """What completion knows of one command: its flags and what each flag's value is."""

    names: tuple[str, ...]
    flags: list[str] = field(default_factory=list)
    values: dict[str, tuple[str, ...] | str] = field(default_factory=dict)  # choices, "path" or a name kind
    positionals: tuple[str, ...] = ()  # fixed words a positional takes (ztunnel-config's sections)


def spec(parser: argparse.ArgumentParser) -> list[Command]:
    """Every visible command with its visible flags, read from the parser."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    by_parser: dict[int, Command] = {}
    for name, p in sub.choices.items():
        if name.startswith("_"):
            continue
        cmd = by_parser.get(id(p))
        if cmd is not None:
            cmd.names += (name,)
            continue
        cmd = by_parser[id(p)] = Command((name,))
        for a in p._actions:
            if a.help == argparse.SUPPRESS or isinstance(a, argparse._HelpAction):
                continue
            if not a.option_strings:
                words = getattr(a.type, "choices", None) or a.choices
                if words:
                    cmd.positionals += tuple(words)
                continue
            cmd.flags += a.option_strings
            if a.nargs == 0:
                continue
            words = getattr(a.type, "choices", None) or a.choices
            for opt in a.option_strings:
                if opt in NAME_FLAGS:
                    cmd.values[opt] = NAME_FLAGS[opt]
                elif opt in PATH_FLAGS:
                    cmd.values[opt] = "path"
                elif words:
                    cmd.values[opt] = tuple(words)
                else:
                    cmd.values[opt] = ""
    return list(by_parser.values())


def run(args: argparse.Namespace) -> Exit:
    from ztbundle.cli import build_parser

    commands = spec(build_parser())
    script = {"bash": bash, "zsh": zsh, "fish": fish}[args.shell](commands)
    sys.stdout.write(script)
    return Exit.OK


def run_names(args: argparse.Namespace) -> Exit:
    """Print the names of `kind` in the first bundle among `words`; nothing at all on any problem."""
    bundle = next(
        (Path(w) for w in args.words if w.endswith((".tar.gz", ".tgz")) and Path(w).is_file()), None
    )
    if bundle is None:
        return Exit.OK
    try:
        from analyzer.load import load_index
        from analyzer.views.source import open_source

        index = load_index(open_source(bundle).files)
    except Exception:  # completion must never print an error into the user's command line
        return Exit.OK
    if args.kind == "ztunnels":
        names = {z.name for z in index.ztunnels}
    elif args.kind == "nodes":
        names = {z.node for z in index.ztunnels if z.node}
    else:
        names = set(index.namespaces) | {p.namespace for p in index.pods}
    sys.stdout.write("".join(f"{n}\n" for n in sorted(names)))
    return Exit.OK


# Cobra's completion directives, which kubectl expects from a plugin's completion executable.
FILES = 0
NO_FILES = 4


def candidates(words: list[str]) -> tuple[list[str], int]:
    """Completions for the last of `words` (the arguments after the program name), and cobra's directive.

    What the bash script does, in Python, for `kubectl_complete-ztbundle` (kubectl 1.26+ runs it to
    complete `kubectl ztbundle …`, kubernetes/kubernetes#105867).
    """
    from ztbundle.cli import build_parser

    commands = spec(build_parser())
    cur = words[-1] if words else ""
    before = words[:-1]
    first = next((w for w in before if not w.startswith("-")), None)
    cmd = next((c for c in commands if first in c.names), None)
    if cmd is None:
        top = [n for c in commands for n in c.names] + ["--debug", "--version", "--help"]
        return [w for w in top if w.startswith(cur)], NO_FILES
    value = cmd.values.get(before[-1]) if before else None
    if value is not None:
        if value == "path":
            return [], FILES
        if isinstance(value, str) and value:
            names = _names(value, words)
            return [n for n in names if n.startswith(cur)], NO_FILES
        return [w for w in value if w.startswith(cur)] if isinstance(value, tuple) else [], NO_FILES
    if cur.startswith("-"):
        return [f for f in [*cmd.flags, "--help"] if f.startswith(cur)], NO_FILES
    return [w for w in cmd.positionals if w.startswith(cur)], FILES


def _names(kind: str, words: list[str]) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_names(argparse.Namespace(kind=kind, words=words))
    return out.getvalue().split()


def kubectl_complete(words: list[str]) -> str:
    """What kubectl reads from `kubectl_complete-ztbundle`: a candidate a line, then `:<directive>`."""
    found, directive = candidates(words)
    return "".join(f"{w}\n" for w in found) + f":{directive}\n"


def _words(values: tuple[str, ...] | str) -> str:
    return " ".join(values) if isinstance(values, tuple) else ""


def bash(commands: list[Command]) -> str:
    top = " ".join([n for c in commands for n in c.names] + ["--debug", "--version", "--help"])
    value_cases, flag_cases, positional_cases = [], [], []
    for c in commands:
        names = "|".join(c.names)
        for flag, v in c.values.items():
            pattern = "|".join(f'"{n} {flag}"' for n in c.names)
            if v == "path":
                action = 'COMPREPLY=($(compgen -f -- "$cur"))'
            elif isinstance(v, str) and v:
                names_of = f'ztbundle __complete {v} "${{COMP_WORDS[@]:1}}" 2>/dev/null'
                action = f'COMPREPLY=($(compgen -W "$({names_of})" -- "$cur"))'
            else:
                action = f'COMPREPLY=($(compgen -W "{_words(v)}" -- "$cur"))'
            value_cases.append(f"    {pattern}) {action}; return;;")
        flag_cases.append(f'    {names}) COMPREPLY=($(compgen -W "{" ".join(c.flags)} --help" -- "$cur"));;')
        if c.positionals:
            words = " ".join(c.positionals)
            positional_cases.append(
                f'    {names}) COMPREPLY=($(compgen -W "{words}" -- "$cur") $(compgen -f -- "$cur"));;'
            )
    nl = "\n"
    return f"""# bash completion for ztbundle; generated by `ztbundle completion bash`
_ztbundle() {{
  local cur prev cmd i
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in -*) ;; *) cmd="${{COMP_WORDS[i]}}"; break;; esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "{top}" -- "$cur"))
    return
  fi
  case "$cmd $prev" in
{nl.join(value_cases)}
  esac
  if [[ "$cur" == -* ]]; then
    case "$cmd" in
{nl.join(flag_cases)}
    esac
    return
  fi
  case "$cmd" in
{nl.join(positional_cases)}
    *) COMPREPLY=($(compgen -f -- "$cur"));;
  esac
}}
complete -o filenames -F _ztbundle ztbundle kubectl-ztbundle
"""


def zsh(commands: list[Command]) -> str:
    return (
        "#compdef ztbundle kubectl-ztbundle\n"
        "# zsh completion for ztbundle; generated by `ztbundle completion zsh` (runs the bash one)\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(commands)
    )


def fish(commands: list[Command]) -> str:
    lines = [
        "# fish completion for ztbundle; generated by `ztbundle completion fish`",
        "complete -c ztbundle -f",
    ]
    for c in commands:
        lines.append(f"complete -c ztbundle -n __fish_use_subcommand -a '{' '.join(c.names)}'")
        seen = f"'__fish_seen_subcommand_from {' '.join(c.names)}'"
        if c.positionals:
            lines.append(f"complete -c ztbundle -n {seen} -a '{' '.join(c.positionals)}'")
        lines.append(f"complete -c ztbundle -n {seen} -F")  # bundles and paths
        for flag in c.flags:
            spelled = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
            v = c.values.get(flag)
            if v is None:
                lines.append(f"complete -c ztbundle -n {seen} {spelled}")
            elif v == "path":
                lines.append(f"complete -c ztbundle -n {seen} {spelled} -r -F")
            elif isinstance(v, str) and v:
                names_of = f"(ztbundle __complete {v} (commandline -opc))"
                lines.append(f"complete -c ztbundle -n {seen} {spelled} -x -a '{names_of}'")
            else:
                lines.append(f"complete -c ztbundle -n {seen} {spelled} -x -a '{_words(v)}'")
    return "\n".join(lines) + "\n"
