#!/bin/sh
# The key ceremony of deploy/README.md for the four-bank compose example, in one go.
#
# Real banks run each bank's steps on that bank's own machine and send only the public files
# (validator.public.json, org.public.json); this script plays all four in separate folders so
# the compose example can be tried on one machine. Usage, from the repository root:
#
#   TALLY_PASSPHRASE=... sh deploy/ceremony.sh deploy
#
# It writes DIR/bank-X/etc/{validator.key, node.toml, genesis.json, ...} and
# DIR/bank-X/org/{admin.keystore.json, org.public.json} and prints the genesis hash.
set -eu
DIR=${1:-deploy}
TALLY=${TALLY:-tally}
BANKS="a b c d"

n=11
for b in $BANKS; do
    etc="$DIR/bank-$b/etc"
    # 1. Each bank: its validator's keys (validator.key stays in etc/, mode 0600).
    $TALLY node keygen --name "validator-bank-$b" --org "bank-$b" \
        --p2p "172.28.0.$n:26600" --out "$etc"
    # 2. Each bank: its organization's admin key (encrypted; never mounted into the node).
    $TALLY node org-key --org "bank-$b" --name "Bank $(echo "$b" | tr a-z A-Z)" --kind bank \
        --kyc-expires 2030-12-31 --out "$DIR/bank-$b/org"
    n=$((n + 1))
done

# 3. The coordinator (any bank): genesis from the public files only.
mkdir -p "$DIR/coordinator"
$TALLY node genesis --chain tally-compose \
    --validators "$DIR"/bank-a/etc/validator.public.json "$DIR"/bank-b/etc/validator.public.json \
                 "$DIR"/bank-c/etc/validator.public.json "$DIR"/bank-d/etc/validator.public.json \
    --orgs "$DIR"/bank-a/org/org.public.json "$DIR"/bank-b/org/org.public.json \
           "$DIR"/bank-c/org/org.public.json "$DIR"/bank-d/org/org.public.json \
    --currencies "$DIR/examples/currencies.json" --params "$DIR/examples/params.json" \
    --time 2026-01-01 --out "$DIR/coordinator/genesis.json"

# 4. Each bank: a copy of genesis (compare its hash!) and the node config, in container paths.
for b in $BANKS; do
    etc="$DIR/bank-$b/etc"
    cp "$DIR/coordinator/genesis.json" "$etc/genesis.json"
    $TALLY node config --name "validator-bank-$b" \
        --genesis /etc/tally/genesis.json --key /etc/tally/validator.key \
        --data-dir /var/lib/tally/data --api 0.0.0.0:8700 --p2p 0.0.0.0:26600 \
        --out "$etc/node.toml"
done
echo "Before 'docker compose up': chown -R 10001:10001 $DIR/bank-*/etc (the image's tally user)."
