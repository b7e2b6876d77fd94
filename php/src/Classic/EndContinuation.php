<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * @internal Goes on with the end of a docroot request when its destructor
 * runs (RequestEnd::resume()): after exit() in a destructor, an output
 * buffer's callback or a session handler cut the end short, the answer
 * still goes.
 */
final class EndContinuation
{
    public function __destruct()
    {
        RequestEnd::resume($this);
    }
}
