"""Function words that never start or end a tag (Russian and English), compared after case folding."""

ENGLISH = frozenset(
    """
    a about above after again against all almost also although always am among an and another any anyone
    anything are around as at be because been before being below between both but by can cannot could did
    do does doing done down during each either else enough even ever every few for from further get gets
    got had has have having he her here hers herself him himself his how however i if in into is it its
    itself just least less let like made make many may me might more most much must my myself near need
    new next no nor not now of off often on once one only or other our ours ourselves out over own per
    please quite rather really said same see seen several shall she should since so some something still
    such than that the their theirs them themselves then there these they this those though through thus
    to today too under until up upon us use used using very via was we well were what when where whether
    which while who whom whose why will with within without would yet you your yours yourself yourselves
    read more source details here's it's don't doesn't isn't aren't can't won't didn't what's let's
    first second third last best top way ways thing things lot lots day days week weeks month year years
    without tips guide explained every across along behind beyond got getting gets become becomes
    starts started start makes making takes took explains know knows want wants
    """.split()
)

RUSSIAN = frozenset(
    """
    а без более больше будет будто бы был была были было быть в вам вас весь во вот все всего всех всё
    вы где да даже для до его ее её если есть еще ещё же за здесь и из или им их к как какая какой
    когда конечно который которая которые которых кто куда ли лишь между меня мне много может можно мой
    моя мы на над надо наш не него нее неё нет ни них но ну о об однако он она они оно от очень по под
    после потом потому почему при про раз с сам свою себе себя сейчас со совсем так также такой там
    тебя тем теперь то тогда того тоже только том тот три тут ты у уж уже хорошо хоть чего чем через
    что чтобы чуть эта эти это этого этой этом этот я
    подробнее источник читать читайте новый новая новое новые самый самые лучший лучшие
    какие какой какая какое каких снова почти всегда никогда обзор
    год года лет день дня дней неделя недели месяц месяца сегодня завтра вчера
    """.split()
)

STOPWORDS = ENGLISH | RUSSIAN
