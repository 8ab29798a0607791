#!/usr/bin/env bash
# Install the Polish dictionary for Frontdesk's PostgreSQL full-text search.
#
# Run as root on the machine of the PostgreSQL *server* (the files go to its tsearch_data folder):
#   sudo scripts/install-polish-fts.sh
# then, with the application's settings, create the configuration and index everything again:
#   frontdesk searchindex --rebuild
#
# What it does: takes Debian's hunspell-pl dictionary (/usr/share/hunspell/pl_PL.aff and .dic,
# installed with apt-get if missing), converts it to UTF-8 and installs it as pl_pl.affix and
# pl_pl.dict, plus a Polish stop-word list as polish.stop, into <sharedir>/tsearch_data of every
# PostgreSQL installed here (or TSEARCH_DATA=/path only). Files already there (Debian's
# postgresql-common links them itself when hunspell-pl is installed) are kept unless FORCE=1.
# Safe to run again. See docs/search.md.
set -euo pipefail

HUNSPELL_DIR="${HUNSPELL_DIR:-/usr/share/hunspell}"
aff="$HUNSPELL_DIR/pl_PL.aff"
dic="$HUNSPELL_DIR/pl_PL.dic"

if [ ! -f "$aff" ] || [ ! -f "$dic" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Installing hunspell-pl…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hunspell-pl >/dev/null
  fi
fi
if [ ! -f "$aff" ] || [ ! -f "$dic" ]; then
  echo "error: $aff and $dic not found; install the hunspell-pl package (or set HUNSPELL_DIR)" >&2
  exit 1
fi

targets=()
if [ -n "${TSEARCH_DATA:-}" ]; then
  targets+=("$TSEARCH_DATA")
else
  if command -v pg_config >/dev/null; then
    targets+=("$(pg_config --sharedir)/tsearch_data")
  fi
  for dir in /usr/share/postgresql/*/tsearch_data /usr/pgsql-*/share/tsearch_data; do
    [ -d "$dir" ] && targets+=("$dir")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "error: no PostgreSQL tsearch_data folder found; set TSEARCH_DATA=/path/to/share/tsearch_data" >&2
  exit 1
fi

# The encoding is declared on the "SET" line of the affix file (ISO8859-2 in Debian's package).
encoding="$(sed -n 's/^SET[[:space:]]\{1,\}\([A-Za-z0-9_-]\{1,\}\).*/\1/p' "$aff" | head -n 1)"
encoding="${encoding:-UTF-8}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
iconv -f "$encoding" -t UTF-8 "$aff" > "$tmp/pl_pl.affix"
iconv -f "$encoding" -t UTF-8 "$dic" > "$tmp/pl_pl.dict"
# Very frequent words that carry no meaning for search (pronouns, conjunctions, prepositions…).
tr ' ' '\n' > "$tmp/polish.stop" <<'WORDS'
a aby ach acz aczkolwiek aj albo ale ależ ani aż bardziej bardzo bo bowiem by byli bym bynajmniej być był była było były będzie będą cali cała cały ci cię ciebie co cokolwiek coś czasami czasem czemu czy czyli daleko dla dlaczego dlatego do dobrze dokąd dość dużo dwa dwaj dwie dwoje dziś dzisiaj gdy gdyby gdyż gdzie gdziekolwiek gdzieś i ich ile im inna inne inny innych iż ja ją jak jaka jakaś jakby jaki jakichś jakie jakiś jakiż jakkolwiek jako jakoś je jeden jedna jedno jednak jednakże jego jej jemu jest jestem jeszcze jeśli jeżeli już ją każdy kiedy kilka kimś kto ktokolwiek ktoś która które którego której który których którym którzy ku lat lecz lub ma mają mało mam mi mimo między mną mnie mogą moi moim moja moje może możliwe można mój mu musi my na nad nam nami nas nasi nasz nasza nasze naszego naszych natomiast natychmiast nawet nią nic nich nie niech niego niej niemu nigdy nim nimi niż no o obok od około on ona one oni ono oraz oto owszem pan pana pani po pod podczas pomimo ponad ponieważ powinien powinna powinni powinno poza prawie przecież przed przede przedtem przez przy roku również sam sama są się skąd sobie sobą sposób swoje ta tak taka taki takie także tam te tego tej temu ten teraz też to tobą tobie toteż trzeba tu tutaj twoi twoim twoja twoje twym twój ty tych tylko tym u w wam wami was wasz wasza wasze we według wiele wielu więc więcej wszyscy wszystkich wszystkie wszystkim wszystko wtedy wy właśnie z za zapewne zawsze ze zł znowu znów został żaden żadna żadne żadnych że żeby
WORDS

for target in $(printf '%s\n' "${targets[@]}" | sort -u); do
  for name in pl_pl.affix pl_pl.dict polish.stop; do
    if [ -s "$target/$name" ] && [ "${FORCE:-0}" != 1 ]; then
      echo "kept      $target/$name"
    else
      install -m 0644 "$tmp/$name" "$target/$name"
      echo "installed $target/$name"
    fi
  done
done
echo "Done. Now run: frontdesk searchindex --rebuild  (creates the 'frontdesk_pl' configuration and re-indexes)"
