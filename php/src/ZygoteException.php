<?php

declare(strict_types=1);

namespace Zygote;

/** Root of every exception the php-zygote runtime throws. */
class ZygoteException extends \RuntimeException
{
}
