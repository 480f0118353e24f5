# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_clusterca_global_optspecs
    string join \n format= q/quiet h/help V/version
end

function __fish_clusterca_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_clusterca_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_clusterca_using_subcommand
    set -l cmd (__fish_clusterca_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c clusterca -n "__fish_clusterca_needs_command" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_needs_command" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_needs_command" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "init" -d 'Create a CA directory with a new CA'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "import" -d 'Adopt an existing CA: a Puppet Server cadir in place, or a cert + key from OpenSSL'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "issue" -d 'Generate keys and certificates for one or many certnames, with shared alt names'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "show" -d 'Inspect a certificate, CSR, CRL or key (PEM or DER), or a certname\'s signed certificate'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "list" -d 'List the CA\'s certnames with state, serial, expiry and alt names'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "submit" -d 'Queue CSRs under requests/NAME.pem, or sign them at once (--sign)'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "sign" -d 'Sign queued CSRs under the alt-name policy'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "renew" -d 'Renew certificates (same subject, alt names, extensions and key) or the CA certificate'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "revoke" -d 'Revoke certificates by certname or serial, and reissue the CRL'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "clean" -d 'Revoke and remove certnames: Puppet\'s `ca clean`'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "crl" -d 'Reissue the CRL (new number, fresh dates), --prune it, or --show it'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "check" -d 'Check the CA directory\'s consistency; --repair fixes what is safe to fix'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "audit" -d 'Audit a fleet\'s ssl directories: names, expiry, issuer, revocation, key match, modes'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "probe" -d 'TLS-connect to live endpoints and report the certificates they present'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "verify" -d 'Verify a certificate as a TLS client would: chain to the CA, name, validity, CRL'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "config" -d 'Show the defaults in effect: from flags\' built-ins, the config file or the environment'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "install" -d 'Put a certname\'s certificate, key, CA bundle and CRL in place with exact owner and mode'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "bundle" -d 'Print a self-contained POSIX sh script that does the same install on another machine'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "push" -d 'Run the install bundle on many hosts over ssh, in parallel'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "serve" -d 'Serve the Puppet CA HTTP API (/puppet-ca/v1) as the single active signer'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "completions" -d 'Print a shell\'s completion script for clusterca (bash, zsh, fish, elvish, powershell)'
complete -c clusterca -n "__fish_clusterca_needs_command" -f -a "help" -d 'Show the whole help of a command, with its examples'
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l ca-name -d 'The CA certificate\'s common name [default: "Puppet CA: <hostname>"]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l key-type -d 'Key type of the CA key (and the root\'s): ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096. Puppet Server 7 can sign only with an RSA CA key [default: ec-p256; rsa-4096 with --puppet]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l root-key-out -d 'Where --chain writes the root\'s private key (a new file, 0600; never inside --dir). With --puppet, instead of root_key.pem in the CA directory' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l root-name -d 'The root\'s common name with --chain or --puppet [default: "Puppet Root CA: <random hex>" with --puppet, "Root CA: <random hex>" with --chain]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l ttl -d 'Lifetime of the CA certificate: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l puppet -d 'Make what `puppetserver ca setup` makes, so that Puppet Server 7 runs its CA service on the directory: an RSA root ("Puppet Root CA: <random hex>", root_key.pem) and the intermediate that signs (ca_crt.pem = intermediate then root, ca_crl.pem = both CRLs), with Puppet\'s extensions, and Puppet\'s infra_* files. Puppet Server signs its own host certificate (serial 2) when it first starts'
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -l chain -d 'Make a root and an intermediate that signs (pathlen 0): ca_crt.pem = intermediate then root, ca_crl.pem = both CRLs. The root key goes to --root-key-out only: keep it offline'
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand init" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l cert -d 'The CA certificate, or a bundle with the issuing CA first (PEM or DER); creates --dir' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l key -d 'The CA\'s private key (PKCS#8, PKCS#1 or SEC1; PEM or DER)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l crl -d 'The CA\'s CRL, or a CRL chain with the CA\'s own CRL first [default: a new empty CRL]' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l next-serial -d 'The next serial to issue, in hex [default: one past the highest serial on the CRL, at least 2]. Pick one above every serial the CA has issued before' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand import" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l from-file -d 'Read more certnames from FILE: one `NAME [ALT...]` per line, `#` comments allowed. The line\'s alt names are added to that certificate only; --alt-name applies to all' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l alt-name -d 'An extra subjectAltName for every certificate: DNS:name, IP:address, or a bare name (an address if it parses as one). Repeat, or separate with commas' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l ttl -d 'Certificate lifetime: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l key-type -d 'Key type of the new keys: ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l out -d 'Directory for NAME.key.pem (0600) and NAME.pem (0644)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l allow-wildcard -d 'Allow wildcard alt names such as *.example.net (risky: any host in the domain)'
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -l allow-beyond-ca -d 'Issue even when --ttl ends after the CA certificate does (such a certificate stops verifying when the CA expires, years before its own end)'
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand issue" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand show" -l cert -d 'With a private key: the certificate to check it against' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand show" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand show" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand show" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand show" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -l expiring -d 'Only certificates that expire within this (e.g. 30d; expired ones included, revoked ones not)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -l all -d 'Also list signed, expired and revoked certnames, not only pending requests'
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand list" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l name -d 'The certname to file a single CSR under [default: the CSR\'s CN]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l ttl -d 'Lifetime of the certificates --sign makes' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l sign -d 'Sign each request at once under the alt-name policy (as `serve --autosign true`); one the policy refuses is filed instead'
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -l allow-beyond-ca -d 'Issue even when --ttl ends after the CA certificate does (such a certificate stops verifying when the CA expires, years before its own end)'
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand submit" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l allow-alt-name -d 'Allow alt names matching PATTERN (exact name, *.domain, or IP:address). Repeatable' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l ttl -d 'Certificate lifetime: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l all -d 'Sign every queued request'
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -l allow-beyond-ca -d 'Issue even when --ttl ends after the CA certificate does (such a certificate stops verifying when the CA expires, years before its own end)'
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand sign" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l expiring-within -d 'Renew every signed, unrevoked certificate that expires within this (e.g. 30d), the expired ones included' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l ttl -d 'Lifetime of the new certificates [default: 5y; with --ca 15y]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l key-type -d 'Key type of the new keys with --rekey [default: the old key\'s type]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l out -d 'Directory for the new certificates as NAME.pem (and keys with --rekey)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l next-update -d 'How long the new CRL is valid: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l all -d 'Renew every signed, unrevoked certificate'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l ca -d 'Renew the CA certificate (same key) instead of leaves'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l rekey -d 'Make a new key for each certificate (written to --out as NAME.key.pem, 0600)'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l supersede -d 'Revoke each old certificate with reason superseded'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -l allow-beyond-ca -d 'Issue even when --ttl ends after the CA certificate does (such a certificate stops verifying when the CA expires, years before its own end)'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand renew" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l serial -d 'A serial number to revoke, in hex (`0x1F` or `1F`). Repeatable. Refused when this CA never issued it (no inventory line, no file in signed/), unless --force' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l reason -d 'Why: keyCompromise, superseded, cessationOfOperation, affiliationChanged or unspecified' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l next-update -d 'How long the new CRL is valid: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -l force -d 'Revoke a --serial even though this CA has no record of issuing it: for a CA imported with certificates it never recorded. The serial is then never handed out'
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -l next-update -d 'How long the new CRL is valid: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand clean" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -l next-update -d 'How long the new CRL is valid: a number with unit y, d, h, m or s' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -l show -d 'Describe the current CRL(s) instead of reissuing'
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -l prune -d 'Drop the entries of expired certificates and repeated entries, then reissue'
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand crl" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -l warn-days -d 'Warn about a CA certificate or CRL that expires within this many days, and note the certificates that do' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -l repair -d 'Fix what is safe to fix (under the store lock), then check again'
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand check" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l expect-name -d 'A name every (non-CA) certificate must be valid for: DNS:name, IP:address, or a bare name. Repeat, or separate with commas. (`probe` needs at least one; `audit` without one checks expiry, issuer, keys and modes.)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l ca -d 'The CA certificate or bundle (PEM or DER) certificates must be issued by' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l warn-days -d 'Certificates expiring within this many days are a warning' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l fail-on -d 'Exit 1 when a finding of this severity or worse is found' -r -f -a "info\t'Any finding, notes included'
warning\t'Warnings and errors'
error\t'Errors only'
never\t'Never: always exit 0 when the command ran'"
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l crl -d 'A CRL or CRL chain (PEM or DER) to look serials up in' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l key-owner -d 'A user allowed to own private keys (name or uid); repeat. Not checked when absent' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -s j -l jobs -d 'Files scanned in parallel [default: the number of CPUs]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l follow -d 'Follow symbolic links'
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -l check-keys -d 'Load every private key and derive its public key instead of reading the one the key file stores: finds a key file whose private half is damaged but whose public half is not (slower: a scalar multiplication or an RSA key check per key)'
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand audit" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l targets-file -d 'More endpoints, one host:port a line (`#` comments and blank lines skipped)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l expect-name -d 'A name every (non-CA) certificate must be valid for: DNS:name, IP:address, or a bare name. Repeat, or separate with commas. (`probe` needs at least one; `audit` without one checks expiry, issuer, keys and modes.)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l ca -d 'The CA certificate or bundle (PEM or DER) certificates must be issued by' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l warn-days -d 'Certificates expiring within this many days are a warning' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l fail-on -d 'Exit 1 when a finding of this severity or worse is found' -r -f -a "info\t'Any finding, notes included'
warning\t'Warnings and errors'
error\t'Errors only'
never\t'Never: always exit 0 when the command ran'"
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l sni -d 'The server name to send (SNI) [default: the first expected DNS name]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l connections -d 'Connections per target (a load balancer in round-robin shows its members)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l timeout -d 'Limit for connecting and for the TLS handshake, per connection (e.g. 5s, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -s j -l concurrency -d 'Connections in flight at once' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand probe" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -l name -d 'A DNS name or IP address the certificate must be valid for; repeat for several' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -l ca -d 'The trusted CA certificate or bundle [default: ca_crt.pem of --dir]' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -l crl -d 'Check revocation: against FILE, or with no value against ca_crl.pem of --dir' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand verify" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand config" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand config" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand config" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l layout -d 'Layout of the target' -r -f -a "puppet\t'Puppet\'s ssldir (--ssldir)'
files\t'Loose files (--cert, --key, --ca, --crl)'
haproxy\t'haproxy\'s combined PEM (--pem)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l from -d 'Where `issue` wrote NAME.pem and NAME.key.pem' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l ssldir -d 'The ssldir (puppet layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l cert -d 'Where the certificate goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l key -d 'Where the private key goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l ca -d 'Where the CA bundle goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l crl -d 'Where the CRL goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l pem -d 'Where the combined certificate + chain + key goes (haproxy layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l owner -d 'Owner of everything installed (name or uid) [default: the installing user]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l group -d 'Group of everything installed (name or gid) [default: the installing user\'s group]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l mode -d 'Mode of the certificate, CA bundle and CRL (files layout), octal' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l key-mode -d 'Mode of the private key (files layout), octal' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l backup -d 'Keep a replaced file as FILE.bak.<timestamp>'
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l cert-only -d 'Install the certificate, CA bundle and CRL only, no key: for a certificate signed from the node\'s own CSR, whose key never left the node (the key in place stays as it is)'
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -l dry-run -d 'Print what would be done; write nothing'
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand install" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l layout -d 'Layout of the target' -r -f -a "puppet\t'Puppet\'s ssldir (--ssldir)'
files\t'Loose files (--cert, --key, --ca, --crl)'
haproxy\t'haproxy\'s combined PEM (--pem)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l from -d 'Where `issue` wrote NAME.pem and NAME.key.pem' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l ssldir -d 'The ssldir (puppet layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l cert -d 'Where the certificate goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l key -d 'Where the private key goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l ca -d 'Where the CA bundle goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l crl -d 'Where the CRL goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l pem -d 'Where the combined certificate + chain + key goes (haproxy layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l owner -d 'Owner of everything installed (name or uid) [default: the installing user]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l group -d 'Group of everything installed (name or gid) [default: the installing user\'s group]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l mode -d 'Mode of the certificate, CA bundle and CRL (files layout), octal' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l key-mode -d 'Mode of the private key (files layout), octal' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l then -d 'A command to run (sh -c) at the end, only when something changed' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l backup -d 'Keep a replaced file as FILE.bak.<timestamp>'
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -l cert-only -d 'Install the certificate, CA bundle and CRL only, no key: for a certificate signed from the node\'s own CSR, whose key never left the node (the key in place stays as it is)'
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand bundle" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l layout -d 'Layout of the target' -r -f -a "puppet\t'Puppet\'s ssldir (--ssldir)'
files\t'Loose files (--cert, --key, --ca, --crl)'
haproxy\t'haproxy\'s combined PEM (--pem)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l from -d 'Where `issue` wrote NAME.pem and NAME.key.pem' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l ssldir -d 'The ssldir (puppet layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l cert -d 'Where the certificate goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l key -d 'Where the private key goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l ca -d 'Where the CA bundle goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l crl -d 'Where the CRL goes (files layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l pem -d 'Where the combined certificate + chain + key goes (haproxy layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l owner -d 'Owner of everything installed (name or uid) [default: the installing user]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l group -d 'Group of everything installed (name or gid) [default: the installing user\'s group]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l mode -d 'Mode of the certificate, CA bundle and CRL (files layout), octal' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l key-mode -d 'Mode of the private key (files layout), octal' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l host -d 'A host to install on (anything ssh takes); repeat' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l hosts-file -d 'More hosts, one `HOST [key=value]...` a line' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -s j -l jobs -d 'Hosts at once' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l ssh-option -d 'An ssh option (`-o OPT`), e.g. Port=2222 or StrictHostKeyChecking=accept-new; repeat' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l then -d 'A command to run on each host (sh -c) where something changed, e.g. a service reload' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l backup -d 'Keep a replaced file as FILE.bak.<timestamp>'
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -l cert-only -d 'Install the certificate, CA bundle and CRL only, no key: for a certificate signed from the node\'s own CSR, whose key never left the node (the key in place stays as it is)'
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand push" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l listen -d 'Address and port to listen on' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l cert -d 'Certname of the server\'s own certificate [default: this host\'s name]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l alt-name -d 'An alt name for the server certificate (the name agents use as ca_server); repeat, or separate with commas' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l autosign -d 'Autosign: true, false, a file of names and *.domain globs, or an executable. A name given in --admin and a request for pp_cli_auth are never autosigned' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l admin -d 'A client certname allowed to call the admin endpoints; repeat. Never autosigned; serve warns at start when the autosign setting covers one' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l max-connections -d 'Connections served at once' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l max-connections-per-address -d 'Connections from one client address (an IPv6 /64 counts as one) served at once (0: no cap); more wait for a slot (at most --header-timeout), and past four times this many waiting they are closed at once. Behind a TCP load balancer every agent has its address: raise this to --max-connections there and cap per client in the balancer' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l request-timeout -d 'Deadline for a whole request, headers and body, counted from the connection\'s accept (or the previous answer on a kept-alive connection); a slower client gets 408 and is disconnected' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l header-timeout -d 'Limit for a TLS handshake and for a request\'s headers, and the idle limit between requests on a kept-alive connection (e.g. 10s, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l next-update -d 'Lifetime of each CRL the server signs (revoke, clean, refresh)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l crl-refresh -d 'Sign the CRL again, same entries, when its nextUpdate is this close [default: a quarter of --next-update]' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l auto-renewal-ttl -d 'Lifetime of auto-renewed certificates (Puppet\'s auto-renewal-cert-ttl)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l dir -d 'The CA directory (Puppet Server\'s cadir layout)' -r -F
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l lock-timeout -d 'How long to wait for another signer holding the CA store lock (e.g. 30s, 2m, 500ms)' -r
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l standby -d 'Wait as the standby when another server is the active signer (else exit 3)'
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l shared -d 'Sign active/active beside other `serve --shared` on the same CA directory (local disk, or shared storage with coherent POSIX locks: NFSv4, CephFS, GFS2). Every member answers `running`; put them all in the load balancer\'s CA pool, round robin. Refused beside a `serve` without it (exit 3)'
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -l allow-auto-renewal -d 'Answer Puppet\'s certificate renewal (POST /puppet-ca/v1/certificate_renewal): a client with a valid certificate of this CA gets a renewed one, same key and extensions'
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand serve" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand completions" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand completions" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand completions" -s V -l version -d 'Print version'
complete -c clusterca -n "__fish_clusterca_using_subcommand help" -l format -d 'Output format: text for people, json for scripts' -r -f -a "text\t'Aligned text for people'
json\t'JSON for scripts (documented in docs/json.md)'"
complete -c clusterca -n "__fish_clusterca_using_subcommand help" -s q -l quiet -d 'Text output without a line per item: only the summary of each batch (and errors)'
complete -c clusterca -n "__fish_clusterca_using_subcommand help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clusterca -n "__fish_clusterca_using_subcommand help" -s V -l version -d 'Print version'
