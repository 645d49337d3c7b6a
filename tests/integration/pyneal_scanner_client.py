#!/usr/bin/python3
"""A Pyneal Scanner stand-in, written from Pyneal Scanner's protocol as documented
(jeffmacinnes/pyneal v1.0.3; README, "At the scanner"): ZeroMQ PAIR, connect; a hello
string, answered with itself; per volume a JSON header (volIdx, dtype, shape, affine as a
JSON string, TR as a string) and the C-contiguous voxels, then wait for the reply; stop when
a reply holds STOP.

  pyneal_scanner_client.py ENDPOINT RUN.nii[.gz] SENT.npy [--dtype float64|uint16]
      [--tr-field 1500] [--count N] [--bad] [--swap A] [--hello TEXT]

SENT.npy gets the volumes as sent, in send order, Fortran-flattened (x fastest), float64,
for the test to compare with what HYPER-RT received.
"""
import argparse
import json
import sys

import nibabel as nib
import numpy as np
import zmq


def main():
    p = argparse.ArgumentParser()
    p.add_argument("endpoint")
    p.add_argument("run")
    p.add_argument("sent")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--tr-field", default="1500")
    p.add_argument("--count", type=int, default=-1)
    p.add_argument("--bad", action="store_true", help="send malformed messages between the volumes")
    p.add_argument("--swap", type=int, default=-1, help="send volume A+1 before volume A")
    p.add_argument("--hello", default="hello from pyneal_scanner ")
    a = p.parse_args()

    img = nib.as_closest_canonical(nib.load(a.run))
    data = np.asanyarray(img.dataobj)
    n = data.shape[3] if a.count < 0 else a.count
    ctx = zmq.Context()
    s = ctx.socket(zmq.PAIR)
    s.setsockopt(zmq.RCVTIMEO, 20000)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(a.endpoint)
    s.send_string(a.hello)
    echo = s.recv_string()
    if echo != a.hello:
        sys.exit(f"handshake: sent {a.hello!r}, got {echo!r}")

    def expect(reply, what):
        if what not in reply:
            sys.exit(f"reply {reply!r} does not hold {what!r}")
        return reply

    def send_volume(i):
        vol = np.ascontiguousarray(data[..., i].astype(a.dtype))
        header = {"volIdx": i, "dtype": str(vol.dtype), "shape": list(vol.shape),
                  "affine": json.dumps(img.affine.tolist()), "TR": a.tr_field}
        s.send_json(header, zmq.SNDMORE)
        s.send(vol, copy=False)
        return vol

    def bad_messages(i):
        header = {"volIdx": i, "dtype": a.dtype, "shape": list(data.shape[:3]), "affine": json.dumps(img.affine.tolist()),
                  "TR": a.tr_field}
        s.send_multipart([b"{}", b"x", b"y"])  # three frames
        expect(s.recv_string(), "refused: frames")
        s.send_multipart([b"{not json", b"x"])
        expect(s.recv_string(), "refused: bad_json")
        s.send_multipart([json.dumps(header).encode(), b"short"])
        expect(s.recv_string(), "refused: size")
        s.send_multipart([json.dumps(dict(header, dtype="complex64")).encode(), b"0" * 8])
        expect(s.recv_string(), "refused: dtype")
        s.send_multipart([json.dumps({k: v for k, v in header.items() if k != "affine"}).encode(), b"0"])
        expect(s.recv_string(), "refused: field_missing")

    order = list(range(n))
    if 0 <= a.swap < n - 1:
        order[a.swap], order[a.swap + 1] = order[a.swap + 1], order[a.swap]
    sent = []
    for k, i in enumerate(order):
        if a.bad and k == 2:
            bad_messages(i)
        vol = send_volume(i)
        reply = expect(s.recv_string(), f"received volIdx {i}")
        sent.append((i, vol.astype(np.float64).ravel(order="F")))
        if "STOP" in reply:
            break
    sent.sort(key=lambda t: t[0])
    np.save(a.sent, np.stack([v for _, v in sent]))
    s.close()
    ctx.term()


if __name__ == "__main__":
    main()
