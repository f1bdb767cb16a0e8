# fieldattest_image_check.bbclass: runs fieldattest's IEC 62443-4-2 rules on
# the image's rootfs right after it is created, with the native scanner built
# from the same recipe as the agent. One scan writes the JSON report, the
# CycloneDX SBOM and a text summary next to the image, and fails the build when a
# finding reaches FIELDATTEST_FAIL_ON — unless an accept file documents a
# compensating countermeasure for it (IEC 62443-4-2 CCSC 2).
#
# Use in an image recipe (or IMAGE_CLASSES in local.conf):
#   inherit fieldattest_image_check
#   FIELDATTEST_FAIL_ON = "high"                 # critical|high|medium|low|info|none
#   FIELDATTEST_ACCEPT = "${THISDIR}/files/fieldattest-accept.toml"
#   FIELDATTEST_SL = "2"                          # target security level 1..4

FIELDATTEST_FAIL_ON ??= "high"
FIELDATTEST_ACCEPT ??= ""
FIELDATTEST_SL ??= "2"
FIELDATTEST_REPORT_DIR ??= "${IMGDEPLOYDIR}"
FIELDATTEST_REPORT_NAME ??= "${IMAGE_NAME}.fieldattest"
FIELDATTEST_REPORT_LINK ??= "${IMAGE_LINK_NAME}.fieldattest"

do_rootfs[depends] += "fieldattest-native:do_populate_sysroot"
do_rootfs[vardeps] += "FIELDATTEST_FAIL_ON FIELDATTEST_ACCEPT FIELDATTEST_SL"
do_rootfs[file-checksums] += "${@'%s:True' % d.getVar('FIELDATTEST_ACCEPT') if d.getVar('FIELDATTEST_ACCEPT') else ''}"

# Last, after oe-core's own post-processing (empty-password removal, users,
# systemd targets...): the check sees the rootfs the image is made of.
ROOTFS_POSTPROCESS_COMMAND:append = " fieldattest_image_check"

fieldattest_image_check () {
    root="${IMAGE_ROOTFS}"
    out="${FIELDATTEST_REPORT_DIR}"
    name="${FIELDATTEST_REPORT_NAME}"
    link="${FIELDATTEST_REPORT_LINK}"
    fail_on="${FIELDATTEST_FAIL_ON}"
    accept="${FIELDATTEST_ACCEPT}"
    case "$fail_on" in
    critical) levels="CRITICAL" ;;
    high) levels="CRITICAL|HIGH" ;;
    medium) levels="CRITICAL|HIGH|MEDIUM" ;;
    low) levels="CRITICAL|HIGH|MEDIUM|LOW" ;;
    info) levels="CRITICAL|HIGH|MEDIUM|LOW|INFO" ;;
    none | "") levels="" ;;
    *) bbfatal "fieldattest: FIELDATTEST_FAIL_ON = $fail_on (critical, high, medium, low, info, none)" ;;
    esac
    mkdir -p "$out"
    set -- --root "$root" --sl "${FIELDATTEST_SL}"
    if [ -n "$accept" ]; then
        [ -f "$accept" ] || bbfatal "fieldattest: FIELDATTEST_ACCEPT file $accept does not exist"
        set -- "$@" --accept "$accept"
    fi
    if [ -n "$levels" ]; then
        set -- "$@" --fail-on "$fail_on"
    fi
    # One scan, three renderings of it: the JSON report and the SBOM that are
    # archived are the very scan whose text summary passes or fails the build.
    rc=0
    NO_COLOR=1 fieldattest scan "$@" --write json="$out/$name.json" \
        --write cyclonedx="$out/$name.cdx.json" --format text --output "$out/$name.txt" \
        2>"$out/$name.log" || rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
        bbfatal "fieldattest: the scan of $root failed (exit $rc): $(cat "$out/$name.log")"
    fi
    if [ -n "$link" ] && [ "$link" != "$name" ]; then
        ln -sf "$name.json" "$out/$link.json"
        ln -sf "$name.cdx.json" "$out/$link.cdx.json"
        ln -sf "$name.txt" "$out/$link.txt"
    fi
    if [ -z "$levels" ]; then
        bbnote "fieldattest: report in $out/$name.json (FIELDATTEST_FAIL_ON = none)"
    elif [ $rc -eq 0 ]; then
        bbnote "fieldattest: no finding at or above $fail_on; report in $out/$name.json"
    else
        found=$(grep -E "^ +($levels) " "$out/$name.txt" | grep -v -F "[accepted]" | sed -e 's/^ *//')
        bbfatal "fieldattest: the image has findings at or above '$fail_on':
$found
Report: $out/$name.json (SBOM: $out/$name.cdx.json). Fix the image, or document a
compensating countermeasure in an accept file (FIELDATTEST_ACCEPT)."
    fi
}
