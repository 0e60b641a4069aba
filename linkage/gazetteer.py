"""Place tables for normalisation: country codes, names and demonyms, and city aliases."""

from collections.abc import Mapping

# ISO 3166-1 alpha-2 + alpha-3 pairs, from the Debian iso-codes package.
_ISO_3166 = (
    "ADAND AEARE AFAFG AGATG AIAIA ALALB AMARM AOAGO AQATA ARARG ASASM ATAUT AUAUS AWABW "
    "AXALA AZAZE BABIH BBBRB BDBGD BEBEL BFBFA BGBGR BHBHR BIBDI BJBEN BLBLM BMBMU BNBRN "
    "BOBOL BQBES BRBRA BSBHS BTBTN BVBVT BWBWA BYBLR BZBLZ CACAN CCCCK CDCOD CFCAF CGCOG "
    "CHCHE CICIV CKCOK CLCHL CMCMR CNCHN COCOL CRCRI CUCUB CVCPV CWCUW CXCXR CYCYP CZCZE "
    "DEDEU DJDJI DKDNK DMDMA DODOM DZDZA ECECU EEEST EGEGY EHESH ERERI ESESP ETETH FIFIN "
    "FJFJI FKFLK FMFSM FOFRO FRFRA GAGAB GBGBR GDGRD GEGEO GFGUF GGGGY GHGHA GIGIB GLGRL "
    "GMGMB GNGIN GPGLP GQGNQ GRGRC GSSGS GTGTM GUGUM GWGNB GYGUY HKHKG HMHMD HNHND HRHRV "
    "HTHTI HUHUN IDIDN IEIRL ILISR IMIMN ININD IOIOT IQIRQ IRIRN ISISL ITITA JEJEY JMJAM "
    "JOJOR JPJPN KEKEN KGKGZ KHKHM KIKIR KMCOM KNKNA KPPRK KRKOR KWKWT KYCYM KZKAZ LALAO "
    "LBLBN LCLCA LILIE LKLKA LRLBR LSLSO LTLTU LULUX LVLVA LYLBY MAMAR MCMCO MDMDA MEMNE "
    "MFMAF MGMDG MHMHL MKMKD MLMLI MMMMR MNMNG MOMAC MPMNP MQMTQ MRMRT MSMSR MTMLT MUMUS "
    "MVMDV MWMWI MXMEX MYMYS MZMOZ NANAM NCNCL NENER NFNFK NGNGA NINIC NLNLD NONOR NPNPL "
    "NRNRU NUNIU NZNZL OMOMN PAPAN PEPER PFPYF PGPNG PHPHL PKPAK PLPOL PMSPM PNPCN PRPRI "
    "PSPSE PTPRT PWPLW PYPRY QAQAT REREU ROROU RSSRB RURUS RWRWA SASAU SBSLB SCSYC SDSDN "
    "SESWE SGSGP SHSHN SISVN SJSJM SKSVK SLSLE SMSMR SNSEN SOSOM SRSUR SSSSD STSTP SVSLV "
    "SXSXM SYSYR SZSWZ TCTCA TDTCD TFATF TGTGO THTHA TJTJK TKTKL TLTLS TMTKM TNTUN TOTON "
    "TRTUR TTTTO TVTUV TWTWN TZTZA UAUKR UGUGA UMUMI USUSA UYURY UZUZB VAVAT VCVCT VEVEN "
    "VGVGB VIVIR VNVNM VUVUT WFWLF WSWSM YEYEM YTMYT ZAZAF ZMZMB ZWZWE"
)
# Folded country names and demonyms (English, Dutch, Spanish, Portuguese, French) after
# their alpha-3 code; "_" stands for a space.
_COUNTRY_NAMES = (
    "ARG argentina argentinie argentine argentinian argentino argentin argentijns argentijnse "
    "argentijn",
    "BEL belgium belgie belgique belgica belgian belg belgisch belgische belga belge",
    "BGR bulgaria bulgarije bulgarie bulgarian bulgaars bulgaarse bulgaro bulgara bulgare",
    "BOL bolivia bolivie bolivian boliviano boliviana bolivien bolivienne boliviaans boliviaanse",
    "BRA brazil brasil brazilie bresil brazilian brasileno brasilena brasileiro brasileira "
    "bresilien bresilienne braziliaans braziliaanse braziliaan",
    "CHL chile chili chilean chileno chilena chilien chilienne chileens chileense chileen",
    "COL colombia colombie colombian colombiano colombiana colombien colombienne colombiaans "
    "colombiaanse colombiaan",
    "CUB cuba cuban cubano cubana cubain cubaine cubaans cubaanse cubaan",
    "DEU germany duitsland alemania alemanha allemagne deutschland german duits duitse aleman "
    "alemana alemao alema allemand allemande deutsch deutsche d",
    "DOM dominican_republic republica_dominicana dominicaanse_republiek "
    "republique_dominicaine dominican dominicano dominicana dominicain dominicaine "
    "dominicaans dominicaanse",
    "ECU ecuador equateur equador ecuadorian ecuatoriano ecuatoriana equatoriano equatoriana "
    "equatorien equatorienne ecuadoraans ecuadoraanse ecuadoriaans ecuadoriaanse",
    "ESP spain spanje espana espanha espagne spanish spaans spaanse espanol espanola espanhol "
    "espanhola espagnol espagnole",
    "FRA france frankrijk francia franca french frans franse frances francesa francais francaise",
    "GBR united_kingdom uk great_britain britain verenigd_koninkrijk groot_brittannie "
    "reino_unido royaume_uni england engeland inglaterra angleterre british brits britse "
    "britanico britanica britannique english engels engelse ingles inglesa anglais anglaise",
    "MAR morocco marokko marruecos marrocos maroc moroccan marokkaans marokkaanse marokkaan "
    "marroqui marroquina marroquino marocain marocaine",
    "MEX mexico mexique mexican mexicano mexicana mexicain mexicaine mexicaans mexicaanse",
    "NGA nigeria nigerian nigeriano nigeriana nigeriane nigeriaans nigeriaanse",
    "NLD netherlands the_netherlands nederland holland holanda paises_bajos pays_bas "
    "paises_baixos dutch nederlands nederlandse nederlander hollands hollandse neerlandes "
    "neerlandesa holandes holandesa neerlandais neerlandaise hollandais hollandaise",
    "PER peru perou peruvian peruano peruana peruvien peruvienne peruaans peruaanse peruaan",
    "POL poland polen polonia pologne polish pools poolse polaco polaca polones polonesa "
    "polonais polonaise",
    "PRT portugal portuguese portugees portugese portugues portuguesa portugais portugaise",
    "PRY paraguay paraguai paraguayan paraguayo paraguaya paraguaio paraguaia paraguayen "
    "paraguayenne paraguayaans paraguayaanse",
    "ROU romania roemenie rumania romenia roumanie romanian roemeens roemeense rumano rumana "
    "romeno romena roumain roumaine",
    "SUR suriname surinam surinamese surinaams surinaamse surinamer surinames surinamesa "
    "surinamien surinamienne surinamais surinamaise",
    "TUR turkey turkiye turkije turquia turquie turkish turks turkse turco turca turc turque turk",
    "USA united_states united_states_of_america america verenigde_staten "
    "verenigde_staten_van_amerika estados_unidos ee_uu eeuu eua etats_unis american "
    "amerikaans amerikaanse estadounidense norteamericano norteamericana americano americana "
    "estadunidense americain americaine",
    "VEN venezuela venezuelan venezolano venezolana venezuelano venezuelana venezuelien "
    "venezuelienne venezolaans venezolaanse venezolaan",
)


def _nationality_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for pair in _ISO_3166.split():
        table[pair[:2].lower()] = table[pair[2:].lower()] = pair[2:]
    for entry in _COUNTRY_NAMES:
        code, *names = entry.split()
        table |= {name.replace("_", " "): code for name in names}
    return table


NATIONALITIES: Mapping[str, str] = _nationality_table()


# Folded alternative city names -> one form: the name in the city's own language (Dutch for
# bilingual Brussels). Only whole values are looked up.
CITY_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(["s gravenhage", "sgravenhage", "the hague", "la haye", "la haya"], "den haag"),
    **dict.fromkeys(["haia", "haag"], "den haag"),
    **dict.fromkeys(["den bosch", "shertogenbosch", "bois le duc"], "s hertogenbosch"),
    **dict.fromkeys(["bruxelles", "brussels", "bruselas", "bruxelas"], "brussel"),
    **dict.fromkeys(["antwerp", "anvers", "amberes", "antuerpia"], "antwerpen"),
    **dict.fromkeys(["ghent", "gand", "gante"], "gent"),
    **dict.fromkeys(["bruges", "brujas"], "brugge"),
    **dict.fromkeys(["louvain", "lovaina"], "leuven"),
    **dict.fromkeys(["malines", "malinas"], "mechelen"),
    **dict.fromkeys(["luik", "lieja", "luttich"], "liege"),
    **dict.fromkeys(["namen"], "namur"),
    **dict.fromkeys(["bogota d c", "bogota dc", "santa fe de bogota"], "bogota"),
    **dict.fromkeys(["mexico city", "cdmx", "mexico d f", "mexico df"], "ciudad de mexico"),
    **dict.fromkeys(["lisbon", "lisbonne"], "lisboa"),
}
