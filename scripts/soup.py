"""Average the weights of checkpoints of one architecture (a uniform "model soup").

Usage: python scripts/soup.py OUT.pt IN1.pt IN2.pt [...]

The inputs must share dims and front end, and their feature normalisation buffers must be
equal (fine-tunes of one checkpoint keep its buffers); every other tensor of the state dict
is the mean over the inputs. OUT keeps the first input's record, with ``soup_of`` added.
A held-out check of soups of v8's siblings is in the docs/model.md ("Runs that lost").
"""

import sys

import torch


def soup(paths: list[str]) -> dict:
    """The checkpoint dict whose state dict is the mean of the inputs' state dicts."""
    cks = [torch.load(p, weights_only=True) for p in paths]
    first = cks[0]
    for path, ck in zip(paths[1:], cks[1:]):
        if ck["dims"] != first["dims"] or ck["features"] != first["features"]:
            raise SystemExit(f"{path}: another architecture or front end than {paths[0]}")
    state = {}
    for key, tensor in first["state_dict"].items():
        stack = torch.stack([ck["state_dict"][key].float() for ck in cks])
        if key.startswith("feat_") and not all(torch.equal(t, stack[0]) for t in stack):
            raise SystemExit(f"feature normalisation {key} differs between the inputs")
        state[key] = stack.mean(0).to(tensor.dtype)
    return {**first, "state_dict": state, "training": {**first["training"], "soup_of": list(paths)}}


def main() -> None:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    torch.save(soup(sys.argv[2:]), sys.argv[1])
    print(f"wrote {sys.argv[1]}: the mean of {len(sys.argv) - 2} checkpoints")


if __name__ == "__main__":
    main()
