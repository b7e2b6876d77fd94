<?php

declare(strict_types=1);

namespace Zygote\Classic;

use Zygote\ZygoteException;

/**
 * This PHP cannot be patched to keep headers and capture output: not the
 * CLI SAPI, a version whose sapi_module layout is not verified, or FFI
 * missing or disabled. docroot.php prints the message on one line and
 * exits 78 (EX_CONFIG) without having written anything.
 */
final class SapiMismatchException extends ZygoteException
{
    public const EXIT_CODE = 78;

    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct($message, 0, $previous);
    }
}
