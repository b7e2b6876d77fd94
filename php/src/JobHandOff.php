<?php

declare(strict_types=1);

namespace Zygote;

/**
 * @internal Carries a forked worker's job out of the master's loop to
 * Zygote::forkPerJob(), which catches it. Not an error, so it is not a
 * ZygoteException: nothing else may catch it on the way.
 */
final class JobHandOff extends \Exception
{
    public function __construct(public readonly Job $job)
    {
        parent::__construct('a forked worker took its job');
    }
}
