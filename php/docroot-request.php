<?php
// One request of a reused docroot worker (PHP_ZYGOTE_DOCROOT_REUSE=1):
// src-native/php-request-loop.c runs this file as a fresh PHP request for
// each job, after PHP's own shutdown of the request before, as php-fpm
// runs the scripts of its requests. Like docroot.php, it keeps no
// variables of its own: the script runs at global scope. The boot file
// runs first in every request, like php-fpm's auto_prepend_file.
declare(strict_types=1);

require __DIR__ . '/docroot-functions.php';
\Zygote\Classic\Docroot::beginNext();
if (\Zygote\Classic\Docroot::bootFile() !== null) {
    require \Zygote\Classic\Docroot::bootFile();
}
require \Zygote\Classic\Docroot::script();
