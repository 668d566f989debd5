package io.msx.master.internal;

import java.util.Collection;

/** Makes sure targets' instruction topics exist before anything is posted to them ({@link TopicAdmin} in a master). */
@FunctionalInterface
public interface TargetTopics {

    /**
     * @param targets target names (valid ones); their topics exist when this returns
     * @throws io.msx.MsxRetriableException when the broker cannot be asked now (try again)
     * @throws io.msx.master.MasterException when the broker refuses to create a topic
     */
    void ensure(Collection<String> targets);
}
