"""The compiled-kernel cache: one folder per version of the kernel modules."""

from __future__ import annotations

from pathlib import Path

from peak_trade.core.compiled import cache_folder


def _package(root: Path, kernel: str, other: str) -> Path:
    (root / "strategies").mkdir(parents=True)
    (root / "strategies" / "rules.py").write_text(f"@compiled\ndef step(x):\n    return {kernel}\n")
    (root / "cli.py").write_text(f"print({other!r})\n")
    return root


def test_the_cache_folder_changes_with_any_kernel_module_and_only_with_them(
    tmp_path: Path,
) -> None:
    first = cache_folder(_package(tmp_path / "a", "x + 1", "hello"))
    same = cache_folder(_package(tmp_path / "b", "x + 1", "changed, but no kernel in it"))
    edited = cache_folder(_package(tmp_path / "c", "x + 2", "hello"))

    assert first.parent == tmp_path / "a" / "__pycache__"
    assert first.name.startswith("numba-")
    assert first.name == same.name  # a module without kernels does not count
    assert edited.name != first.name  # a calling module compiles again after a callee changed
