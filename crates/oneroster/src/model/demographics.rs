//! Demographics (CEDS): one record per user, sharing the user's sourcedId.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Base, normalize_as};
use crate::primitives::{Date, Flag, vocabulary};
use crate::resource::{FieldDecl, ModelError, ResourceDecl};

vocabulary!(Sex, ["male", "female", "unspecified", "other"]);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// Every field but the base is stored as `null` when not given: TimeBack's
/// responses require the keys (the strict profile strips nulls).
pub struct Demographics {
    #[serde(flatten)]
    pub base: Base,
    #[serde(default)]
    pub birth_date: Option<Date>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub american_indian_or_alaska_native: Option<Flag>,
    #[serde(default)]
    pub asian: Option<Flag>,
    #[serde(default)]
    pub black_or_african_american: Option<Flag>,
    #[serde(default)]
    pub native_hawaiian_or_other_pacific_islander: Option<Flag>,
    #[serde(default)]
    pub white: Option<Flag>,
    #[serde(default)]
    pub demographic_race_two_or_more_races: Option<Flag>,
    #[serde(default)]
    pub hispanic_or_latino_ethnicity: Option<Flag>,
    #[serde(default)]
    pub country_of_birth_code: Option<String>,
    #[serde(default)]
    pub state_of_birth_abbreviation: Option<String>,
    #[serde(default)]
    pub city_of_birth: Option<String>,
    #[serde(default)]
    pub public_school_residence_status: Option<String>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    normalize_as::<Demographics>(input)
}

pub static DEMOGRAPHICS: ResourceDecl = ResourceDecl {
    collection: "demographics",
    singular: "demographics",
    schema: "DemographicsDType",
    fields: crate::base_fields![
        FieldDecl::date("birthDate"),
        FieldDecl::text("sex"),
        FieldDecl::plain("americanIndianOrAlaskaNative"),
        FieldDecl::plain("asian"),
        FieldDecl::plain("blackOrAfricanAmerican"),
        FieldDecl::plain("nativeHawaiianOrOtherPacificIslander"),
        FieldDecl::plain("white"),
        FieldDecl::plain("demographicRaceTwoOrMoreRaces"),
        FieldDecl::plain("hispanicOrLatinoEthnicity"),
        FieldDecl::plain("countryOfBirthCode"),
        FieldDecl::plain("stateOfBirthAbbreviation"),
        FieldDecl::plain("cityOfBirth"),
        FieldDecl::plain("publicSchoolResidenceStatus"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "birthDate",
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    ],
    refs: &[],
    extensions: &[],
    search: &[],
    write_only: &[],
    normalize,
};
