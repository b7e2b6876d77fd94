<?php
// Checks that this PHP can run php-zygote. Written in syntax every PHP 5+
// parses, so an old PHP gets this message instead of a parse error from
// the runtime's PHP 8.1 code.

/**
 * Returns null when $versionId and the loaded extensions are enough, or one
 * line saying what is missing and how to install it.
 */
function php_zygote_preflight_problem($versionId, $loadedExtensions)
{
    if ($versionId < 80100) {
        return 'php-zygote needs PHP 8.1 or later (this is ' . PHP_VERSION . ' at ' . PHP_BINARY
            . '); install a newer php-cli, e.g. apt-get install php-cli';
    }
    $missing = array();
    foreach (array('pcntl', 'posix', 'sockets') as $extension) {
        if (!in_array($extension, $loadedExtensions, true)) {
            $missing[] = $extension;
        }
    }
    if ($missing) {
        return 'php-zygote needs the PHP extension' . (count($missing) > 1 ? 's ' : ' ') . implode(', ', $missing)
            . ', missing from ' . PHP_BINARY . ' (php --ini shows which ini files it loaded)'
            . '; on Debian/Ubuntu they come with php-cli (apt-get install php-cli),'
            . ' elsewhere enable extension=' . implode(' / extension=', $missing) . ' in php.ini';
    }
    return null;
}
