"""How the bundled sample was made from ../shared/ext (kept for reproducibility; not run by the tool).

    python -m scanner.demo.make_sample ../shared/ext

Reads only local, licensed test material; see sample/SOURCE.md for sources and licences.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).parent / "sample"
PAGES = 30  # articles taken into the sample crawl
EXTRACTS = 12  # of them, also present in the third-party extract dataset (near-duplicates)
FETCHED = "2019-11-20T00:00:00Z"  # the benchmark pages were saved 18-20 Nov 2019 (dates in URLs)
ROBOTS_SEEN = "2019-07-01T00:00:00Z"  # the robots.txt corpus was fetched and committed July 2019


def main(ext: Path) -> None:
    bench = ext / "article-extraction-benchmark"
    truth = json.loads(gzip.decompress((bench / "ground-truth.json.gz").read_bytes()))
    index_bytes = gzip.decompress((ext / "protego-robots-corpus/index.jsonl.gz").read_bytes())
    index = [json.loads(line) for line in index_bytes.splitlines()]
    robots_by_host = {row["host"]: row for row in index}

    # Pages whose host has a real robots.txt in the corpus: every www.nytimes.com page (a long,
    # real rule set), then the smallest pages.
    candidates = []
    for key, row in truth.items():
        host = urlsplit(row["url"]).hostname
        if host in robots_by_host:
            size = (bench / "html" / f"{key}.html.gz").stat().st_size
            candidates.append((host != "www.nytimes.com", size, key, row["url"], host))
    chosen = sorted(candidates)[:PAGES]

    HERE.mkdir(exist_ok=True)
    with gzip.open(HERE / "news-crawl.jsonl.gz", "wt", encoding="utf-8") as out:
        for *_, key, url, _host in chosen:
            raw = gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes())
            html = raw.decode("utf-8", "replace")
            out.write(json.dumps({"id": key, "url": url, "date": FETCHED, "html": html}) + "\n")

    readability = json.loads(gzip.decompress((bench / "output/readability.json.gz").read_bytes()))
    readability = readability["output"]
    with gzip.open(HERE / "article-extracts.jsonl.gz", "wt", encoding="utf-8") as out:
        for *_, key, url, _host in chosen[:EXTRACTS]:
            text = readability[key]["articleBody"]
            out.write(json.dumps({"id": key, "url": url, "text": text}) + "\n")

    robots_dir = HERE / "robots"
    robots_dir.mkdir(exist_ok=True)
    origins = sorted({(c[4], urlsplit(c[3]).scheme) for c in chosen})
    listing = []
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        for host, scheme in origins:
            member = tar.getmember(f"robots/{robots_by_host[host]['file'].split('/')[-1]}")
            extracted = tar.extractfile(member)
            assert extracted is not None, member.name
            (robots_dir / f"{host}.txt").write_bytes(extracted.read())
            listing.append(
                {
                    "file": f"{host}.txt",
                    "url": f"{scheme}://{host}/robots.txt",
                    "observed_at": ROBOTS_SEEN,
                    "status": 200,
                }
            )
    (robots_dir / "index.json").write_text(json.dumps(listing, indent=1) + "\n")

    warc = HERE / "cc-main-2020-34.warc.gz"
    shutil.copyfile(ext / "warc-samples/resiliparse/warcfile.warc.gz", warc)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
