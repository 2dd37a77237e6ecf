"""kube.walk, which a dozen policies run over every Helm release's values: the same pairs
whether or not the tree was walked before, and a preview's unknown value still stops the
walk where it is."""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.mcp_policies import kube

VALUES = {"image": {"repository": "nginx", "tag": "1.29"}, "sidecars": [{"name": "a", "env": []}]}
PAIRS = [
    ((), VALUES),
    (("image",), VALUES["image"]),
    (("image", "repository"), "nginx"),
    (("image", "tag"), "1.29"),
    (("sidecars",), VALUES["sidecars"]),
    (("sidecars", "0"), VALUES["sidecars"][0]),
    (("sidecars", "0", "name"), "a"),
    (("sidecars", "0", "env"), []),
]


def _plain(value):
    """A proxy's content as plain dicts and lists, to compare with."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and not isinstance(value, str)):
        return [_plain(v) for v in value]
    return value


def test_a_plain_tree_yields_every_path_depth_first():
    assert list(kube.walk(VALUES)) == PAIRS


def test_a_plain_tree_changed_between_walks_is_walked_as_it_is_now():
    values = {"image": "nginx:1.29"}
    assert [p for p, _ in kube.walk(values)] == [(), ("image",)]
    values["initImage"] = "busybox:1.37"
    assert [p for p, _ in kube.walk(values)] == [(), ("image",), ("initImage",)]


def test_the_analyzers_view_gives_the_same_pairs_every_time():
    view = unknown_checking_proxy(VALUES)
    first = [(path, _plain(node)) for path, node in kube.walk(view)]
    again = [(path, _plain(node)) for path, node in kube.walk(view)]
    assert first == again == PAIRS


def test_an_unknown_value_stops_each_walk_where_it_is():
    view = unknown_checking_proxy({"image": {"repository": "nginx", "tag": UNKNOWN_STRING_VALUE}, "later": 1})
    for _ in range(2):  # the failed walk is not kept: the second raises the same way
        seen = []

        def walk_all(seen=seen):
            for path, _node in kube.walk(view):
                seen.append(path)

        with pytest.raises(UnknownValueError):
            walk_all()
        assert seen == [(), ("image",), ("image", "repository")]
